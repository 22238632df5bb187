/* poller_thread.h: a native thread that drives a queue for an event loop.
 *
 * The asyncio layer's strategies 5 and 6 (docs/concepts/integration-strategies.md).
 * The thread loops on cq_next() without the GIL and without a Python object,
 * moves each event into a mutex-protected native queue, and wakes the event
 * loop by writing to a non-blocking socketpair whose other end the loop
 * watches. Two wake-up policies:
 *
 *   CQ_WAKE_PER_BATCH: one byte when the queue turns non-empty; the loop
 *     takes every event in one call (cq_poller_thread_take_all).
 *   CQ_WAKE_PER_EVENT: one byte per event, as gRPC's PollerCompletionQueue;
 *     the loop reads one byte, then pops events one at a time.
 *
 * The thread waits with a spinner (spinner.h): after events it polls on
 * without blocking for up to spin_ns before it sleeps in epoll_wait.
 *
 * A full socket (EAGAIN) never blocks the thread: a wake-up is already
 * pending, and the loop empties the queue whenever it wakes. The thread ends
 * after it has queued the queue's SHUTDOWN event, so stopping it is
 * cq_shutdown() then cq_poller_thread_destroy(), which never needs the loop.
 */
#ifndef CQ_CORE_POLLER_THREAD_H
#define CQ_CORE_POLLER_THREAD_H

#include <stddef.h>

#include "cq.h"
#include "spinner.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_poller_thread cq_poller_thread;

typedef enum { CQ_WAKE_PER_BATCH = 0, CQ_WAKE_PER_EVENT = 1 } cq_wake_policy;

/* Starts the thread on q (which must outlive it); it waits with a spinner of
 * spin_ns (0 to CQ_SPIN_MAX_NS, see spinner.h). Returns CQ_OK, CQ_E_INVALID
 * for an unknown policy or a spin_ns out of range, CQ_E_NOMEM, or an errno
 * from socketpair/thread start. */
int cq_poller_thread_start(cq_queue *q, cq_wake_policy policy, int64_t spin_ns,
                           cq_poller_thread **out) CQ_NOEXCEPT;

/* What the thread's spinner counted so far (see spinner.h). */
void cq_poller_thread_stats(cq_poller_thread *p, cq_spin_stats *out) CQ_NOEXCEPT;

/* The read end of the wake-up socketpair (non-blocking): watch it for reading. */
int cq_poller_thread_fd(cq_poller_thread *p) CQ_NOEXCEPT;

/* Reads whatever wake-up bytes are waiting (at most max_bytes; 0: all) and
 * returns how many were read. Never blocks. */
size_t cq_poller_thread_read_wakeups(cq_poller_thread *p, size_t max_bytes) CQ_NOEXCEPT;

/* Pops the oldest event into *out; returns 0 when the queue is empty. */
int cq_poller_thread_pop(cq_poller_thread *p, cq_event *out) CQ_NOEXCEPT;

/* Moves up to max queued events into out (oldest first) under one lock and
 * returns how many. Under CQ_WAKE_PER_BATCH, call read_wakeups first: an event
 * queued after this call writes a new byte. */
size_t cq_poller_thread_take(cq_poller_thread *p, cq_event *out, size_t max) CQ_NOEXCEPT;

/* Number of events waiting (a snapshot). */
size_t cq_poller_thread_pending(cq_poller_thread *p) CQ_NOEXCEPT;

/* 1 once the thread has queued SHUTDOWN and returned (it needs cq_shutdown). */
int cq_poller_thread_finished(cq_poller_thread *p) CQ_NOEXCEPT;

/* Waits for the thread to end: call cq_shutdown(q) first, or this waits for
 * it. Idempotent; only one thread may call it at a time. */
void cq_poller_thread_join(cq_poller_thread *p) CQ_NOEXCEPT;

/* Joins (see above), then frees the thread and the socketpair. Events still queued are
 * handed to drop_event (may be NULL: their values and calls are freed and
 * their tags forgotten), so the owner of the tags can release them. */
void cq_poller_thread_destroy(cq_poller_thread *p, void (*drop_event)(cq_event *event, void *ctx),
                              void *ctx) CQ_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* CQ_CORE_POLLER_THREAD_H */
