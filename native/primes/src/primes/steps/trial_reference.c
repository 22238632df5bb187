/* The lesson's trial division in plain C, with no Python in sight.
 *
 * The same steps as primes._primes.trial_division: libc's sqrt, corrected to the
 * exact integer root, then every divisor from 2 to the root. Built with the same
 * compiler and flags as the Cython modules, so the two compare fairly. */
#include "trial_reference.h"

#include <math.h>

static uint64_t
isqrt_u64(uint64_t n)
{
    uint64_t r = (uint64_t)sqrt((double)n);
    /* A double rounds above 2**52: step to the exact root without overflowing. */
    if (r > 0xFFFFFFFFull)
        r = 0xFFFFFFFFull;
    while (r * r > n)
        r--;
    while (r < 0xFFFFFFFFull && (r + 1) * (r + 1) <= n)
        r++;
    return r;
}

bool
trial_reference_is_prime(uint64_t n)
{
    if (n < 2)
        return false;
    uint64_t root = isqrt_u64(n);
    for (uint64_t i = 2; i <= root; i++) {
        if (n % i == 0)
            return false;
    }
    return true;
}
