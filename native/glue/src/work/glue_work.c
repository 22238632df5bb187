/* The work every gluing tool wraps (see glue_work.h). */
#include "glue_work.h"

#include <math.h>

void
glue_noop(void)
{
}

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
glue_is_prime(uint64_t n)
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

uint64_t
glue_count_primes(uint64_t lo, uint64_t hi)
{
    uint64_t count = 0;
    for (uint64_t n = lo; n < hi; n++)
        count += glue_is_prime(n);
    return count;
}

void
glue_reverse(const char *src, size_t n, char *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[n - 1 - i];
}

int
glue_call_back(glue_callback callback, void *ctx, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        int status = callback(ctx);
        if (status != 0)
            return status;
    }
    return 0;
}
