/* The work every gluing tool wraps: plain C, no Python.h.
 *
 * Each function is called from Python through six tools (the C API, Cython, pybind11,
 * nanobind, cffi and ctypes), so any difference between them is the cost of the glue,
 * never of the work. The same file is also built as a plain shared library (libglue)
 * for ctypes, which can only call C that knows nothing of Python. */
#ifndef GLUE_WORK_H
#define GLUE_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Does nothing: a call through it costs only the glue. */
void glue_noop(void);

/* Trial division, the same steps as stage 2's is_prime_trial. Exact for every
 * n < 2**64. */
bool glue_is_prime(uint64_t n);

/* How many primes lie in [lo, hi): a loop long enough to release the GIL around.
 * An empty range (hi <= lo) counts 0, as range() would. */
uint64_t glue_count_primes(uint64_t lo, uint64_t hi);

/* Write the n bytes of src into dst in reverse order (dst must hold n bytes and
 * must not overlap src). */
void glue_reverse(const char *src, size_t n, char *dst);

/* A C library's usual callback: a function pointer and a context pointer handed
 * back to it untouched. */
typedef int (*glue_callback)(void *ctx);

/* Call callback(ctx) n times. Stops at the first call that returns non-zero
 * (how a callback reports an error) and returns that value; returns 0 otherwise. */
int glue_call_back(glue_callback callback, void *ctx, uint64_t n);

#ifdef __cplusplus
}
#endif

#endif
