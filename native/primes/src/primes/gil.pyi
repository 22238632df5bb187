"""The same CPU-bound work with the GIL held or released, for lab 04 and the tests.

``count_range(lo, hi)`` counts the primes in [lo, hi) in one native loop, holding
the GIL or not, and returns when the loop started and ended (``CLOCK_MONOTONIC``),
so a caller can see whether two threads were inside their loops at the same time.
"""

from typing import Literal, SupportsIndex

ALGORITHMS: tuple[str, ...]

def count_range(
    lo: SupportsIndex,
    hi: SupportsIndex,
    *,
    algorithm: Literal["trial", "miller_rabin"] = "trial",
    release_gil: bool = True,
) -> tuple[int, int, int]: ...
