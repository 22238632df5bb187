// queue.cc: the completion queue: events, next/pluck, timers, wake-up,
// shutdown and destroy. The socket work lives in channel.cc and server.cc.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <exception>
#include <new>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

#include "internal.h"

using cq::IoKind;
using Lock = std::unique_lock<std::mutex>;

namespace cq {

namespace {
std::atomic<uint64_t> g_fork_generation{0};

void
after_fork_in_child()
{
    g_fork_generation.fetch_add(1, std::memory_order_relaxed);
}

// Registered once, when the library is loaded.
const int g_atfork_registered = pthread_atfork(nullptr, nullptr, after_fork_in_child);
} // namespace

uint64_t
fork_generation() noexcept
{
    return g_fork_generation.load(std::memory_order_relaxed);
}

void
kick(cq_queue *q)
{
    if (q->orphan) // an orphan's eventfd would wake the parent
        return;
    if (q->wake_armed.load(std::memory_order_relaxed) || q->wake_armed.exchange(true))
        return;
#ifdef __linux__
    uint64_t one = 1;
    ssize_t n = ::write(q->wake_write, &one, sizeof one);
#else
    char one = 1;
    ssize_t n = ::write(q->wake_write, &one, 1);
#endif
    // A full pipe or eventfd already means "wake up": nothing is lost on EAGAIN.
    (void)n;
}

namespace {

void
wake_waiter(Waiter *w)
{
    w->signalled = true;
    w->cv.notify_one();
}

// Locked. Wakes one cq_next sleeper that is not already woken; false if none.
bool
wake_any(cq_queue *q)
{
    for (Waiter *w : q->any_waiters)
        if (!w->signalled) {
            wake_waiter(w);
            return true;
        }
    return false;
}

// Locked. Wakes the thread an event with this tag is for: its plucker, else
// one cq_next sleeper.
void
wake_for(cq_queue *q, void *tag)
{
    auto it = q->pluckers.find(tag);
    if (it != q->pluckers.end()) {
        wake_waiter(it->second);
        return;
    }
    wake_any(q);
}

} // namespace

void
wake_all(cq_queue *q)
{
    for (auto &[tag, w] : q->pluckers)
        wake_waiter(w);
    for (Waiter *w : q->any_waiters)
        wake_waiter(w);
}

void
drain_wakeup(cq_queue *q)
{
    char buf[64];
    while (::read(q->wake.fd, buf, sizeof buf) > 0) {
    }
    // Read first, then disarm: a kick racing with this (cq_alarm_start, the
    // only one without the lock) either writes again after the store (one
    // spurious wake-up) or is skipped before it; then its alarm is already in
    // new_alarms, and this round's run_timers adopts it. Disarming first
    // could leave the flag set with nothing to read: no wake-up ever again.
    q->wake_armed.store(false);
}

void
push_event(cq_queue *q, cq_op op, void *tag, int ok, int error, cq_value *value, cq_call *call)
{
    cq_event ev{};
    ev.type = CQ_EVENT_OP;
    ev.op = op;
    ev.tag = tag;
    ev.ok = ok;
    ev.error = ok ? 0 : error;
    ev.value = value;
    ev.call = call;
    q->events.push_back(ev);
    wake_for(q, tag);
    if (!q->driving) {
        // Started from outside the poller's round: the thread sleeping in epoll
        // (or an event loop watching cq_fd) must look again.
        kick(q);
    }
}

int
register_io(cq_queue *q, IoObject *obj, uint32_t interest)
{
    obj->id = q->next_id++;
    obj->interest = interest;
    int err = q->poller.add(obj->fd, obj->id, interest);
    if (err)
        return err;
    q->io.emplace(obj->id, obj);
    if (q->poller.changes_need_wakeup() && q->polling)
        kick(q);
    return 0;
}

void
set_interest(cq_queue *q, IoObject *obj, uint32_t interest)
{
    if (obj->fd < 0 || obj->interest == interest)
        return;
    obj->interest = interest;
    q->poller.modify(obj->fd, obj->id, interest);
    if (q->poller.changes_need_wakeup() && q->polling)
        kick(q);
}

void
unregister_io(cq_queue *q, IoObject *obj)
{
    if (obj->fd < 0)
        return;
    // In a child of fork the epoll set is shared with the parent: removing
    // the fd there would remove the parent's registration. Closing the
    // child's copy of the fd leaves it alone.
    if (!q->orphan)
        q->poller.remove(obj->fd);
    q->io.erase(obj->id);
    ::close(obj->fd);
    obj->fd = -1;
}

} // namespace cq

namespace {

// Pushes the chain first..last back on new_alarms.
void
push_back_alarms(cq_queue *q, cq::NewAlarm *first, cq::NewAlarm *last)
{
    last->next = q->new_alarms.load();
    while (!q->new_alarms.compare_exchange_weak(last->next, first)) {
    }
}

// Locked. Moves every alarm cq_alarm_start pushed into the timer heap.
void
take_new_alarms(cq_queue *q)
{
    cq::NewAlarm *node = q->new_alarms.exchange(nullptr);
    while (node != nullptr) {
        try {
            q->alarms.emplace(node->id, node->alarm);
            q->timers.emplace(node->alarm.deadline, node->id);
        } catch (...) {
            // Out of memory: this one and the rest go back for the next look.
            q->alarms.erase(node->id);
            cq::NewAlarm *last = node;
            while (last->next != nullptr)
                last = last->next;
            push_back_alarms(q, node, last);
            throw;
        }
        cq::NewAlarm *next = node->next;
        delete node;
        node = next;
    }
}

// Locked. take_new_alarms, until shutdown's own adoption: an alarm pushed
// after that one is its starter's to take back (see cq_alarm_start).
void
adopt_alarms(cq_queue *q)
{
    if (!q->alarms_closed.load())
        take_new_alarms(q);
}

// Locked, after shutdown. Takes `mine` off new_alarms and leaves the others
// for their own starters; false if it was no longer there (shutdown adopted
// it, and failed it with an event). Allocates nothing.
bool
take_back_alarm(cq_queue *q, cq::NewAlarm *mine)
{
    cq::NewAlarm *first = q->new_alarms.exchange(nullptr), *last = nullptr;
    bool found = false;
    for (cq::NewAlarm **link = &first; *link != nullptr;) {
        if (*link == mine) {
            *link = mine->next;
            found = true;
            continue;
        }
        last = *link;
        link = &last->next;
    }
    if (first != nullptr)
        push_back_alarms(q, first, last);
    return found;
}

// Locked. Fires every alarm whose deadline passed; returns how many fired.
int
run_timers(cq_queue *q, int64_t now)
{
    adopt_alarms(q);
    int fired = 0;
    while (!q->timers.empty() && q->timers.top().first <= now) {
        uint64_t id = q->timers.top().second;
        q->timers.pop();
        auto it = q->alarms.find(id);
        if (it == q->alarms.end())
            continue; // cancelled: its heap entry is stale
        cq::push_event(q, CQ_OP_ALARM, it->second.tag, 1, 0);
        q->alarms.erase(it);
        fired++;
    }
    return fired;
}

// Locked. The earliest live alarm deadline, dropping stale heap entries.
int64_t
earliest_alarm(cq_queue *q)
{
    adopt_alarms(q);
    while (!q->timers.empty() && !q->alarms.count(q->timers.top().second))
        q->timers.pop();
    return q->timers.empty() ? CQ_INFINITE : q->timers.top().first;
}

// Locked. When the poller must wake up next: an alarm, or a listener's retry.
int64_t
next_deadline(cq_queue *q)
{
    int64_t until = earliest_alarm(q);
    int64_t retry = cq::accept_retry_deadline(q);
    return retry < until ? retry : until;
}

int
timeout_ms(int64_t now, int64_t until)
{
    if (until == CQ_INFINITE)
        return -1;
    if (until <= now)
        return 0;
    // Round up (never wake early) without adding to a deadline near INT64_MAX.
    int64_t left = until - now;
    int64_t ms = left / 1000000 + (left % 1000000 != 0);
    return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

// The longest single condition-variable wait: std::chrono adds the duration to
// now(), which would overflow for a deadline near INT64_MAX. The caller loops.
constexpr int64_t kMaxWaitNs = int64_t{3600} * 1000000000;

// Locked. Hands readiness to the object's owner.
void
dispatch(cq_queue *q, cq::IoObject *obj, uint32_t events)
{
    switch (obj->kind) {
    case IoKind::Wakeup:
        cq::drain_wakeup(q);
        break;
    case IoKind::Channel:
        cq::channel_ready(q, static_cast<cq_channel *>(obj), events);
        break;
    case IoKind::Listener:
        cq::listener_ready(q, static_cast<cq_server *>(obj), events);
        break;
    case IoKind::ServerConn:
        cq::conn_ready(q, static_cast<cq::ServerConn *>(obj), events);
        break;
    }
}

// Locked. Fails the object with this id (if it is still there) after an
// allocation failure; failing may itself run out of memory, then it is left
// for its owner to close.
void
fail_io(cq_queue *q, uint64_t id) noexcept
{
    try {
        auto it = q->io.find(id);
        if (it == q->io.end())
            return;
        if (it->second->kind == IoKind::Channel)
            cq::channel_fail(q, static_cast<cq_channel *>(it->second), CQ_E_NOMEM);
        else if (it->second->kind == IoKind::ServerConn)
            cq::server_conn_fail(q, static_cast<cq::ServerConn *>(it->second));
    } catch (...) {
    }
}

// Locked on entry and exit. One round of the poller role: wait for readiness
// without the lock, then handle it with the lock.
void
poll_round(cq_queue *q, Lock &lock, int64_t deadline)
{
    q->polling = true;
    int64_t now = cq_now();
    int64_t until = next_deadline(q);
    if (deadline < until)
        until = deadline;
    q->poller.prepare();
    // A wait that may sleep tells cq_alarm_start how long it may last, then
    // looks for alarms pushed meanwhile: cq_alarm_start pushes, then reads
    // asleep_until, so one of the two sees the other (both sequentially
    // consistent). One seen here means no sleep: this round's run_timers
    // adopts it. A round that does not sleep (a spinner's) writes nothing
    // that cq_alarm_start reads: no cache line bounces between them.
    int timeout = timeout_ms(now, until);
    const bool may_sleep = timeout != 0;
    if (may_sleep) {
        q->asleep_until.store(until);
        if (q->new_alarms.load() != nullptr)
            timeout = 0;
    }
    lock.unlock();
    q->poller.wait(q->ready, timeout); // noexcept: ready has room for a batch
    if (may_sleep)
        q->asleep_until.store(cq::kNotAsleep);
    lock.lock();
    // Whatever happens below, the roles are given back and sleepers woken.
    struct RoundEnd {
        cq_queue *q;
        ~RoundEnd()
        {
            q->driving = false;
            q->polling = false; // handed on by next_impl's exit (RoleHandOff)
        }
    } round_end{q};
    q->driving = true;
    for (const cq::Ready &r : q->ready) {
        auto it = q->io.find(r.id);
        if (it == q->io.end())
            continue; // closed by another thread meanwhile
        try {
            dispatch(q, it->second, r.events);
        } catch (const std::exception &) {
            // Out of memory while serving one connection: that connection
            // fails (CQ_E_NOMEM), the others and the queue go on.
            fail_io(q, r.id);
        }
    }
    now = cq_now();
    run_timers(q, now);
    cq::retry_accepts(q, now);
}

// Locked. The body of cq_shutdown (see cq.h).
void
shutdown_locked(cq_queue *q)
{
    if (q->shutdown)
        return;
    // Closed first, then adopted: an alarm pushed after this adoption sees
    // alarms_closed in cq_alarm_start and takes itself back.
    q->alarms_closed.store(true);
    take_new_alarms(q);
    for (auto &[id, alarm] : q->alarms)
        cq::push_event(q, CQ_OP_ALARM, alarm.tag, 0, CQ_E_SHUTDOWN);
    q->alarms.clear();
    q->timers = decltype(q->timers)();
    for (cq_channel *ch : q->channels)
        cq::channel_fail(q, ch, CQ_E_SHUTDOWN);
    for (cq_server *server : q->servers)
        cq::server_close(q, server, CQ_E_SHUTDOWN);
    q->shutdown = true;
    cq::kick(q);
    cq::wake_all(q);
}

bool
take_event(cq_queue *q, bool any, void *tag, cq_event *out)
{
    for (auto it = q->events.begin(); it != q->events.end(); ++it) {
        if (any || it->tag == tag) {
            *out = *it;
            q->events.erase(it);
            return true;
        }
    }
    return false;
}

// Takes events for next/pluck into out (at most max; more than one only for
// cq_next_many) and returns how many; a TIMEOUT or SHUTDOWN is one event.
size_t
next_impl(cq_queue *q, bool any, void *tag, int64_t deadline, cq_event *out, size_t max)
{
    cq_event &ev = out[0];
    ev = cq_event{};
    if (cq::forked(q)) { // never block on a lock the parent held at fork
        ev.type = CQ_EVENT_SHUTDOWN;
        return 1;
    }
    Lock lock(q->mu);
    // On the way out (under the lock): if nobody holds the poller role, one
    // sleeper takes it over; if events are left that no woken thread will
    // take, one cq_next sleeper is woken for them. One wake-up, never all.
    struct RoleHandOff {
        cq_queue *q;
        ~RoleHandOff()
        {
            if (!q->events.empty() && cq::wake_any(q))
                return;
            if (!q->polling && !cq::wake_any(q) && !q->pluckers.empty())
                cq::wake_waiter(q->pluckers.begin()->second);
        }
    } hand_off{q};
    bool polled = false;
    for (;;) {
        if (take_event(q, any, tag, &ev)) {
            size_t n = 1;
            while (n < max && !q->events.empty()) { // max > 1 only for cq_next: any tag
                out[n++] = q->events.front();
                q->events.pop_front();
            }
            // cq_fd() promises "readable while next(0) has work": a round that
            // completed several operations must leave it readable for the rest
            // (an event loop may be watching while this thread plucks one tag).
            if (!q->events.empty())
                cq::kick(q);
            return n;
        }
        if (q->shutdown) {
            // Shutdown pushed every in-flight operation's event at once, so an event
            // that is not here now never will be.
            ev.type = CQ_EVENT_SHUTDOWN;
            return 1;
        }
        int64_t now = cq_now();
        if (polled && now >= deadline)
            break;
        if (!q->polling) {
            poll_round(q, lock, deadline);
            polled = true;
            continue;
        }
        if (now >= deadline)
            break;
        // Another thread drives the I/O; it wakes us when it queues our event
        // or gives up the poller role.
        cq::Waiter self;
        self.any = any;
        self.tag = tag;
        if (any)
            q->any_waiters.push_back(&self);
        else
            q->pluckers.emplace(tag, &self);
        struct Unregister {
            cq_queue *q;
            cq::Waiter *w;
            ~Unregister()
            {
                if (w->any) {
                    auto &v = q->any_waiters;
                    v.erase(std::find(v.begin(), v.end(), w));
                    return;
                }
                auto range = q->pluckers.equal_range(w->tag);
                for (auto it = range.first; it != range.second; ++it)
                    if (it->second == w) {
                        q->pluckers.erase(it);
                        return;
                    }
            }
        } unregister{q, &self};
        if (deadline == CQ_INFINITE) {
            self.cv.wait(lock, [&] { return self.signalled; });
        } else {
            int64_t left = deadline - now;
            self.cv.wait_for(lock, std::chrono::nanoseconds(left < kMaxWaitNs ? left : kMaxWaitNs),
                             [&] { return self.signalled; });
        }
    }
    ev.type = CQ_EVENT_TIMEOUT;
    return 1;
}

} // namespace

extern "C" {

int64_t
cq_now(void) noexcept
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

const char *
cq_strerror(int code) noexcept
{
    switch (code) {
    case CQ_OK:
        return "success";
    case CQ_E_SHUTDOWN:
        return "the completion queue is shut down";
    case CQ_E_CANCELLED:
        return "the operation was cancelled";
    case CQ_E_PROTOCOL:
        return "the peer sent malformed RESP";
    case CQ_E_TOO_LARGE:
        return "a frame exceeded a limit (size, depth or element count)";
    case CQ_E_CLOSED:
        return "the connection closed before the operation finished";
    case CQ_E_INVALID:
        return "invalid argument";
    case CQ_E_RESOLVE:
        return "the host name could not be resolved";
    case CQ_E_NOMEM:
        return "out of memory";
    case CQ_E_FORKED:
        return "the completion queue was created before fork(): create a new one in the child";
    default:
        return code > 0 ? std::strerror(code) : "unknown error";
    }
}

void
cq_limits_default(cq_limits *limits) noexcept
{
    limits->max_frame = 64u << 20;
    limits->max_depth = 16;
    limits->max_elements = 1u << 20;
    limits->max_output = 64u << 20;
}

cq_queue *
cq_create(const cq_limits *limits, int *error) noexcept
try {
    cq_queue *q = new (std::nothrow) cq_queue();
    int err = 0;
    if (q == nullptr) {
        err = CQ_E_NOMEM;
        goto fail;
    }
    if (limits) {
        // The parser recurses once per nesting level, on the caller's stack.
        if (limits->max_depth == 0 || limits->max_depth > CQ_MAX_DEPTH_LIMIT ||
            limits->max_frame == 0 || limits->max_elements == 0 || limits->max_output == 0) {
            err = CQ_E_INVALID;
            goto fail;
        }
        q->limits = *limits;
    } else {
        cq_limits_default(&q->limits);
    }
    // Room for one epoll batch: the poller fills it without allocating.
    q->ready.reserve(cq::Poller::kMaxBatch);
    if ((err = q->poller.open()) != 0)
        goto fail;
#ifdef __linux__
    q->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (q->wake.fd < 0) {
        err = errno;
        goto fail;
    }
    q->wake_write = q->wake.fd;
#else
    int fds[2];
    if (pipe(fds) < 0) {
        err = errno;
        goto fail;
    }
    for (int fd : fds) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    q->wake.fd = fds[0];
    q->wake_write = fds[1];
#endif
    q->wake.kind = IoKind::Wakeup;
    if ((err = cq::register_io(q, &q->wake, cq::kReadable)) != 0)
        goto fail;
    if (error)
        *error = 0;
    return q;
fail:
    if (q) {
        if (q->wake_write >= 0 && q->wake_write != q->wake.fd)
            ::close(q->wake_write);
        if (q->wake.fd >= 0)
            ::close(q->wake.fd);
        delete q;
    }
    if (error)
        *error = err;
    return nullptr;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    if (error)
        *error = CQ_E_NOMEM;
    return nullptr;
}

int
cq_fd(cq_queue *q) noexcept
{
    // From now on every new alarm kicks (see cq_alarm_start). And once now:
    // the alarms started before kicked nobody, and a loop that starts watching
    // must look at them (next(0), then cq_next_alarm()). Sequentially
    // consistent with cq_alarm_start's push-then-read: an alarm pushed after
    // this kick sees the flag, or is adopted by the look this kick causes.
    if (!q->fd_handed_out.exchange(true) && !cq::forked(q))
        cq::kick(q);
    return q->poller.pollable_fd();
}

int64_t
cq_next_alarm(cq_queue *q) noexcept
try {
    if (cq::forked(q))
        return CQ_INFINITE;
    Lock lock(q->mu);
    return next_deadline(q);
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return CQ_INFINITE;
}

cq_event
cq_next(cq_queue *q, int64_t deadline) noexcept
try {
    cq_event ev;
    next_impl(q, true, nullptr, deadline, &ev, 1);
    return ev;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return cq::failed_event();
}

size_t
cq_next_many(cq_queue *q, cq_event *out, size_t max, int64_t deadline) noexcept
try {
    return next_impl(q, true, nullptr, deadline, out, max == 0 ? 1 : max);
} catch (...) { // see CQ_NOEXCEPT in cq.h
    out[0] = cq::failed_event();
    return 1;
}

cq_event
cq_pluck(cq_queue *q, void *tag, int64_t deadline) noexcept
try {
    cq_event ev;
    next_impl(q, false, tag, deadline, &ev, 1);
    return ev;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return cq::failed_event();
}

void
cq_shutdown(cq_queue *q) noexcept
try {
    if (cq::forked(q))
        return; // the parent's operations are not ours to fail
    Lock lock(q->mu);
    shutdown_locked(q);
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return;
}

void
cq_destroy(cq_queue *q, void (*drop_tag)(void *tag, void *ctx), void *ctx) noexcept
{
    if (cq::forked(q)) {
        // A child of fork(): a thread of the parent may have held the lock at
        // the fork, and will never release it here. Then nothing can be freed
        // safely: the memory is left to the child's exit.
        if (!q->mu.try_lock())
            return;
        q->mu.unlock();
        q->orphan = true;
    }
    try {
        Lock lock(q->mu);
        shutdown_locked(q);
    } catch (...) {
    }
    for (cq_event &ev : q->events) {
        if (drop_tag)
            drop_tag(ev.tag, ctx);
        cq_value_free(ev.value);
    }
    q->events.clear();
    // Alarms still on the stack were pushed by starters racing with shutdown
    // (cq_alarm_start), which say CQ_E_SHUTDOWN for them: no tag to drop.
    for (cq::NewAlarm *node = q->new_alarms.exchange(nullptr); node != nullptr;) {
        cq::NewAlarm *next = node->next;
        delete node;
        node = next;
    }
    for (cq_call *call : q->calls)
        delete call;
    for (cq_channel *ch : q->channels)
        delete ch;
    for (cq_server *server : q->servers)
        delete server;
    cq::unregister_io(q, &q->wake);
    if (q->wake_write >= 0 && q->wake_write != q->wake.fd)
        ::close(q->wake_write);
    delete q;
}

int
cq_alarm_start(cq_queue *q, int64_t deadline, void *tag, uint64_t *alarm_id) noexcept
{
    // Without the queue's lock: a poller thread that spins takes that lock
    // many times a millisecond, and an event loop starting a burst of alarms
    // would wait for it at every one. The alarm is pushed on new_alarms; the
    // next look at the timers under the lock adopts it.
    if (cq::forked(q))
        return CQ_E_FORKED;
    if (q->alarms_closed.load())
        return CQ_E_SHUTDOWN;
    uint64_t id = q->next_alarm_id.fetch_add(1, std::memory_order_relaxed);
    cq::NewAlarm *node = new (std::nothrow) cq::NewAlarm{id, cq::Alarm{tag, deadline}, nullptr};
    if (node == nullptr)
        return CQ_E_NOMEM;
    node->next = q->new_alarms.load(std::memory_order_relaxed);
    while (!q->new_alarms.compare_exchange_weak(node->next, node)) {
    }
    if (alarm_id)
        *alarm_id = id;
    if (q->alarms_closed.load()) {
        // Shutdown began meanwhile. Either its adoption took this alarm (then
        // it fails it with CQ_E_SHUTDOWN, like any alarm in flight) or the
        // alarm is still on the stack: then it never started.
        try {
            Lock lock(q->mu);
            if (!take_back_alarm(q, node))
                return CQ_OK;
            delete node;
        } catch (...) { // the lock failed: the node is left for cq_destroy to free
        }
        return CQ_E_SHUTDOWN;
    }
    // Kick a poller asleep past this deadline, and an event loop that may be
    // watching cq_fd (it re-reads cq_next_alarm() after a wake-up). A poller
    // spinning, or busy in its round, looks at the timers before it sleeps.
    if (q->fd_handed_out.load() || deadline < q->asleep_until.load())
        cq::kick(q);
    return CQ_OK;
}

int
cq_alarm_cancel(cq_queue *q, uint64_t alarm_id) noexcept
try {
    if (cq::forked(q))
        return CQ_E_FORKED;
    Lock lock(q->mu);
    adopt_alarms(q);
    auto it = q->alarms.find(alarm_id);
    if (it == q->alarms.end())
        return CQ_E_INVALID;
    cq::push_event(q, CQ_OP_ALARM, it->second.tag, 0, CQ_E_CANCELLED);
    q->alarms.erase(it);
    return CQ_OK;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return CQ_E_NOMEM;
}

} // extern "C"
