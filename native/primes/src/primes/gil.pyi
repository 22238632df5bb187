"""Type stubs for the compiled ``primes.gil``."""

from typing import Literal, SupportsIndex

ALGORITHMS: tuple[str, ...]

def count_range(
    lo: SupportsIndex,
    hi: SupportsIndex,
    *,
    algorithm: Literal["trial", "miller_rabin"] = "trial",
    release_gil: bool = True,
) -> tuple[int, int, int]: ...
