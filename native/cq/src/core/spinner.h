/* spinner.h: spin, then park, for a thread that waits on a queue.
 *
 * A thread that sleeps in the queue's epoll_wait whenever it is idle pays a
 * thread switch to sleep and another to wake, and a sleeping virtual CPU takes
 * tens of microseconds to wake: under a steady stream of events (a server at
 * -P 1, say) that was a third of the poller thread's time. A spinner makes the
 * wait poll without blocking first, for up to spin_ns, yielding the core
 * between rounds so that a thread waiting for it (the event loop's, a peer's)
 * runs first, and only then sleep. It spins only after a sleep that ended
 * within spin_ns: the gaps of a request-reply exchange slower than the window
 * would cost spin_ns each, for nothing.
 *
 * Used by the asyncio layer's poller thread (poller_thread.h) and its callback
 * thread (cq.CompletionQueue.next_many with a cq.Spinner).
 */
#ifndef CQ_CORE_SPINNER_H
#define CQ_CORE_SPINNER_H

#include <stddef.h>
#include <stdint.h>

#include "cq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The window cq.aio's waiting threads use, and the largest one accepted. */
#define CQ_SPIN_DEFAULT_NS 50000
#define CQ_SPIN_MAX_NS 1000000000

typedef struct cq_spinner cq_spinner;

/* What a spinner's thread did so far. */
typedef struct {
    uint64_t parks;       /* times it went to sleep in the queue's epoll_wait */
    uint64_t spin_hits;   /* spins that found events before their window ended */
    uint64_t spin_misses; /* spins whose window ended first (a sleep followed) */
} cq_spin_stats;

/* A spinner for windows of spin_ns (0 to CQ_SPIN_MAX_NS; 0 never spins).
 * Returns CQ_OK, CQ_E_INVALID (spin_ns out of range) or CQ_E_NOMEM. */
int cq_spinner_new(int64_t spin_ns, cq_spinner **out) CQ_NOEXCEPT;
void cq_spinner_free(cq_spinner *s) CQ_NOEXCEPT;

/* cq_next_many(q, out, max, deadline), spinning first when the last wait says
 * events come close together (never past the deadline). One thread at a time
 * per spinner; any thread may read its stats. */
size_t cq_next_many_spinning(cq_queue *q, cq_event *out, size_t max, int64_t deadline,
                             cq_spinner *s) CQ_NOEXCEPT;

void cq_spinner_stats(const cq_spinner *s, cq_spin_stats *out) CQ_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* CQ_CORE_SPINNER_H */
