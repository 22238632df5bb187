"""Shared settings for stage 2's tests: hypothesis profiles and the oracle."""

import os

from hypothesis import HealthCheck, settings

# "ci" (the default) runs enough examples to find the slides' bugs in seconds;
# HYPOTHESIS_PROFILE=thorough runs many more, for a quiet machine.
settings.register_profile("ci", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=20_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
