/* The lesson's trial division in plain C: the yardstick for the typed Cython. */
#ifndef PRIMES_TRIAL_REFERENCE_H
#define PRIMES_TRIAL_REFERENCE_H

#include <stdbool.h>
#include <stdint.h>

/* True if n is prime: tries every divisor 2..isqrt(n). Exact for every n < 2**64. */
bool trial_reference_is_prime(uint64_t n);

#endif
