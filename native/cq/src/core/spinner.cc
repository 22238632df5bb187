// spinner.cc: spin, then park (see spinner.h).
#include "spinner.h"

#include <sched.h>

#include <atomic>
#include <new>

struct cq_spinner {
    int64_t spin_ns = 0;
    // Whether the next wait spins. Written by the waiting thread; atomic only
    // so that two threads misusing one spinner race on a hint, not on memory.
    std::atomic<bool> spinning{false};
    // Counted by the waiting thread, read by anyone.
    std::atomic<uint64_t> parks{0}, spin_hits{0}, spin_misses{0};
};

namespace {

void
count(std::atomic<uint64_t> &counter)
{
    counter.fetch_add(1, std::memory_order_relaxed);
}

// Polls without blocking until events come (returns how many) or the window
// (or the deadline) has passed (returns 0). Each round drives the queue's I/O
// once (epoll_wait with no timeout); between rounds the thread yields.
size_t
spin(cq_queue *q, cq_event *out, size_t max, int64_t deadline, cq_spinner *s)
{
    int64_t until = cq_now() + s->spin_ns;
    if (deadline < until)
        until = deadline;
    for (;;) {
        size_t n = cq_next_many(q, out, max, 0);
        if (out[0].type != CQ_EVENT_TIMEOUT) {
            count(s->spin_hits);
            return n;
        }
        if (cq_now() >= until) {
            count(s->spin_misses);
            return 0;
        }
        sched_yield();
    }
}

} // namespace

extern "C" {

int
cq_spinner_new(int64_t spin_ns, cq_spinner **out) noexcept
{
    *out = nullptr;
    if (spin_ns < 0 || spin_ns > CQ_SPIN_MAX_NS)
        return CQ_E_INVALID;
    cq_spinner *s = new (std::nothrow) cq_spinner;
    if (s == nullptr)
        return CQ_E_NOMEM;
    s->spin_ns = spin_ns;
    s->spinning.store(spin_ns > 0, std::memory_order_relaxed); // a first wait may come soon
    *out = s;
    return CQ_OK;
}

void
cq_spinner_free(cq_spinner *s) noexcept
{
    delete s;
}

size_t
cq_next_many_spinning(cq_queue *q, cq_event *out, size_t max, int64_t deadline,
                      cq_spinner *s) noexcept
{
    if (s->spinning.load(std::memory_order_relaxed)) {
        size_t n = spin(q, out, max, deadline, s);
        if (n > 0) // spinning stays on: the next events may come as close
            return n;
        if (cq_now() >= deadline) { // the deadline came within the window
            out[0] = cq_event{};
            out[0].type = CQ_EVENT_TIMEOUT;
            return 1;
        }
    }
    count(s->parks);
    const int64_t parked = cq_now();
    size_t n = cq_next_many(q, out, max, deadline);
    // Spin next time only if the events came soon after (a TIMEOUT is no event).
    s->spinning.store(s->spin_ns > 0 && out[0].type != CQ_EVENT_TIMEOUT &&
                          cq_now() - parked < s->spin_ns,
                      std::memory_order_relaxed);
    return n;
}

void
cq_spinner_stats(const cq_spinner *s, cq_spin_stats *out) noexcept
{
    out->parks = s->parks.load(std::memory_order_relaxed);
    out->spin_hits = s->spin_hits.load(std::memory_order_relaxed);
    out->spin_misses = s->spin_misses.load(std::memory_order_relaxed);
}

} // extern "C"
