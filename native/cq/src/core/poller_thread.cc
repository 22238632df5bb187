// poller_thread.cc: the native poller of the asyncio layer (see poller_thread.h).
//
// Rules learnt from grpc.aio's PollerCompletionQueue bug reports: the thread
// never takes the GIL (no Python here at all), never blocks writing a wake-up
// (the socket is non-blocking and a full socket already means "wake up"), and
// ends on its own once the queue says SHUTDOWN, whether or not an event loop
// still reads the other end.
//
// One rule is ours, not gRPC's: the thread waits with a spinner (spinner.h),
// polling on for a short window after events before it sleeps in epoll_wait.
#include "poller_thread.h"
#include "fork.h"
#include "spinner.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <new>
#include <system_error>
#include <thread>

struct cq_poller_thread {
    cq_queue *q = nullptr;
    cq_wake_policy policy = CQ_WAKE_PER_BATCH;
    int read_fd = -1;
    int write_fd = -1;
    std::thread thread;
    std::mutex lock;
    std::deque<cq_event> events; // guarded by lock
    bool wake_pending = false;   // guarded by lock; CQ_WAKE_PER_BATCH only
    std::atomic<bool> finished{false};
    cq_spinner *spinner = nullptr;               // how the thread waits (spinner.h)
    uint64_t generation = cq::fork_generation(); // see fork.h

    ~cq_poller_thread()
    {
        cq_spinner_free(spinner);
    }
};

namespace {

// In a child of fork(): the thread does not exist here, and the lock may be
// held forever by the parent's thread as it was at the fork.
bool
forked(const cq_poller_thread *p)
{
    return p->generation != cq::fork_generation();
}

int
set_nonblocking_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return errno;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return errno;
    return 0;
}

void
write_wakeup(cq_poller_thread *p)
{
    const char byte = 1;
    for (;;) {
        ssize_t n = write(p->write_fd, &byte, 1);
        if (n >= 0 || errno != EINTR)
            return; // EAGAIN: a wake-up is already pending
    }
}

// Events moved from the core to the loop's queue per lock: one batch, one
// wake-up, instead of a lock round trip (and a kick of the core's own
// wake-up fd, for the events left behind) per event.
constexpr size_t kBatch = 64;

void
push(cq_poller_thread *p, const cq_event *events, size_t n)
{
    size_t wakes;
    {
        std::lock_guard<std::mutex> guard(p->lock);
        p->events.insert(p->events.end(), events, events + n);
        if (p->policy == CQ_WAKE_PER_EVENT) {
            wakes = n; // gRPC's rule: one byte per event
        } else {
            wakes = p->wake_pending ? 0 : 1; // the queue turned non-empty for the loop
            p->wake_pending = true;
        }
    }
    for (size_t i = 0; i < wakes; i++)
        write_wakeup(p);
}

void
run(cq_poller_thread *p)
{
    cq_event batch[kBatch];
    for (;;) {
        size_t n = cq_next_many_spinning(p->q, batch, kBatch, CQ_INFINITE, p->spinner);
        if (batch[0].type == CQ_EVENT_TIMEOUT)
            continue;
        bool last = batch[0].type == CQ_EVENT_SHUTDOWN; // comes alone
        push(p, batch, n);
        if (last)
            break;
    }
    p->finished.store(true, std::memory_order_release);
}

void
free_event(cq_event *ev)
{
    if (ev->value != nullptr)
        cq_value_free(ev->value);
    if (ev->call != nullptr)
        cq_call_destroy(ev->call);
    ev->value = nullptr;
    ev->call = nullptr;
}

} // namespace

extern "C" {

int
cq_poller_thread_start(cq_queue *q, cq_wake_policy policy, int64_t spin_ns,
                       cq_poller_thread **out) noexcept
try {
    *out = nullptr;
    if (q == nullptr || (policy != CQ_WAKE_PER_BATCH && policy != CQ_WAKE_PER_EVENT))
        return CQ_E_INVALID;
    cq_spinner *spinner = nullptr;
    int rc = cq_spinner_new(spin_ns, &spinner);
    if (rc != CQ_OK)
        return rc;
    cq_poller_thread *p = new (std::nothrow) cq_poller_thread;
    if (p == nullptr) {
        cq_spinner_free(spinner);
        return CQ_E_NOMEM;
    }
    p->q = q;
    p->policy = policy;
    p->spinner = spinner;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
        int err = errno;
        delete p;
        return err;
    }
    p->read_fd = fds[0];
    p->write_fd = fds[1];
    int err = set_nonblocking_cloexec(p->read_fd);
    if (err == 0)
        err = set_nonblocking_cloexec(p->write_fd);
    if (err == 0) {
        // The thread starts with every signal blocked (it inherits the mask
        // in force at its creation): a SIGINT must reach a thread that can run
        // Python's handler, never this one, which has no Python at all.
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &previous);
        try {
            p->thread = std::thread(run, p);
        } catch (const std::system_error &e) {
            err = e.code().value() ? e.code().value() : EAGAIN;
        } catch (const std::bad_alloc &) {
            err = CQ_E_NOMEM;
        }
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    }
    if (err != 0) {
        close(p->read_fd);
        close(p->write_fd);
        delete p;
        return err;
    }
    *out = p;
    return CQ_OK;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return CQ_E_NOMEM;
}

void
cq_poller_thread_stats(cq_poller_thread *p, cq_spin_stats *out) noexcept
{
    cq_spinner_stats(p->spinner, out);
}

int
cq_poller_thread_fd(cq_poller_thread *p) noexcept
{
    return p->read_fd;
}

size_t
cq_poller_thread_read_wakeups(cq_poller_thread *p, size_t max_bytes) noexcept
{
    char buf[256];
    size_t total = 0;
    for (;;) {
        size_t want = sizeof buf;
        if (max_bytes != 0 && max_bytes - total < want)
            want = max_bytes - total;
        if (want == 0)
            return total;
        ssize_t n = read(p->read_fd, buf, want);
        if (n > 0) {
            total += (size_t)n;
            if ((size_t)n < want)
                return total; // a short read: the socket is empty now (saves a read)
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return total; // EAGAIN: nothing more; 0 cannot happen while we hold write_fd
    }
}

int
cq_poller_thread_pop(cq_poller_thread *p, cq_event *out) noexcept
try {
    if (forked(p))
        return 0; // the parent's events, behind a lock that may never be free
    std::lock_guard<std::mutex> guard(p->lock);
    if (p->events.empty()) {
        p->wake_pending = false;
        return 0;
    }
    *out = p->events.front();
    p->events.pop_front();
    if (p->events.empty())
        p->wake_pending = false;
    return 1;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return CQ_E_NOMEM;
}

size_t
cq_poller_thread_take(cq_poller_thread *p, cq_event *out, size_t max) noexcept
try {
    if (forked(p))
        return 0; // the parent's events, behind a lock that may never be free
    std::lock_guard<std::mutex> guard(p->lock);
    size_t n = 0;
    while (n < max && !p->events.empty()) {
        out[n++] = p->events.front();
        p->events.pop_front();
    }
    // Only an empty queue may take a new wake-up byte: events left behind
    // must be taken by the caller's next call, which it makes at once.
    if (p->events.empty())
        p->wake_pending = false;
    return n;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return 0;
}

size_t
cq_poller_thread_pending(cq_poller_thread *p) noexcept
try {
    if (forked(p))
        return 0; // the parent's events, behind a lock that may never be free
    std::lock_guard<std::mutex> guard(p->lock);
    return p->events.size();
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return 0;
}

int
cq_poller_thread_finished(cq_poller_thread *p) noexcept
{
    if (forked(p))
        return 1; // as far as the child can tell: there is no thread to wait for
    return p->finished.load(std::memory_order_acquire) ? 1 : 0;
}

void
cq_poller_thread_join(cq_poller_thread *p) noexcept
try {
    if (forked(p))
        return; // no thread to wait for in the child: joining would throw ESRCH
    if (p->thread.joinable())
        p->thread.join();
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return;
}

void
cq_poller_thread_destroy(cq_poller_thread *p, void (*drop_event)(cq_event *event, void *ctx),
                         void *ctx) noexcept
{
    if (p == nullptr)
        return;
    cq_poller_thread_join(p);
    if (forked(p)) {
        // The std::thread names a thread of the parent: destroying it while
        // "joinable" would terminate. It is moved to a small object that is
        // never freed; the descriptors are the child's copies, safe to close.
        if (new (std::nothrow) std::thread(std::move(p->thread)) == nullptr)
            return; // could not even do that: leave p as it is
        close(p->read_fd);
        close(p->write_fd);
        if (!p->lock.try_lock())
            return; // its events and memory are left to the child's exit
        p->lock.unlock();
    }
    for (cq_event &ev : p->events) {
        if (drop_event != nullptr)
            drop_event(&ev, ctx);
        else
            free_event(&ev);
    }
    p->events.clear();
    if (!forked(p)) {
        close(p->read_fd);
        close(p->write_fd);
    }
    delete p;
}

} // extern "C"
