// internal.h: the structures behind the opaque handles of cq.h, shared by the
// queue, the client channel and the server. Everything here is guarded by
// cq_queue::mu; a function that expects the lock held says "Locked" in a
// comment, and none of them ever blocks.
#ifndef CQ_CORE_INTERNAL_H
#define CQ_CORE_INTERNAL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <sys/types.h>
#include <unistd.h>

#include "cq.h"
#include "fork.h"
#include "poller.h"
#include "resp.h"

namespace cq {

enum class IoKind { Wakeup, Channel, Listener, ServerConn };

// Owns a file descriptor until release(): every early return of a function
// that opened one closes it.
class UniqueFd {
  public:
    explicit UniqueFd(int fd = -1) noexcept : fd_(fd) {}
    ~UniqueFd()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;
    int get() const noexcept
    {
        return fd_;
    }
    int release() noexcept
    {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_;
};

// Anything registered with the poller. The poller reports its id; the queue
// maps ids to objects, so a late report for a closed object finds nothing.
struct IoObject {
    uint64_t id = 0;
    int fd = -1;
    IoKind kind = IoKind::Wakeup;
    uint32_t interest = 0;
};

// Bytes received or waiting to be sent; consumed from the front.
struct Buffer {
    std::string data;
    size_t off = 0;
    size_t size() const
    {
        return data.size() - off;
    }
    const char *begin() const
    {
        return data.data() + off;
    }
    void consume(size_t n)
    {
        off += n;
        if (off == data.size())
            clear();
    }
    void append(const char *p, size_t n)
    {
        compact();
        data.append(p, n);
    }
    // Drops the consumed front once it is half the string, so a buffer that is
    // never quite drained (a busy pipelined connection) does not grow forever.
    // Call before appending to data directly.
    void compact()
    {
        if (off && off >= data.size() / 2) {
            data.erase(0, off);
            off = 0;
        }
    }
    void clear()
    {
        data.clear();
        off = 0;
    }
};

// One response slot on a server connection: responses leave in request order,
// so an early answer waits until the ones before it are ready.
struct Slot {
    bool ready = false;
    bool resp3 = false; // the protocol when the request arrived (HELLO may follow)
    std::string bytes;
};

struct ServerConn;

// A request that arrived while the application had no cq_server_request open.
struct Pending {
    uint64_t conn_id;
    uint64_t seq;
    cq_value *args;
};

struct Alarm {
    void *tag;
    int64_t deadline;
};

using TimerEntry = std::pair<int64_t, uint64_t>; // deadline, alarm id

// An alarm cq_alarm_start pushed without taking the queue's lock, waiting to
// be adopted into the timer heap by the next thread that looks at the timers
// under the lock (adopt_alarms in queue.cc). A lock-free stack: pushed one
// by one, taken all at once, so it has no ABA problem.
struct NewAlarm {
    uint64_t id;
    Alarm alarm;
    NewAlarm *next;
};

// asleep_until's value while no thread waits in the poller.
constexpr int64_t kNotAsleep = INT64_MIN;

// Back-pressure on one server connection: past this many requests waiting
// for the application (and answers queued behind them) the server stops
// reading from it until the application answers. The application makes
// progress on its own, so this pause cannot deadlock. Unsent replies never
// pause reading (a peer that writes its whole pipeline before it reads would
// wait for us while we wait for it): they are bounded by cq_limits.max_output.
constexpr size_t kMaxOutstanding = 1024;

// Accepting paused by EMFILE/ENFILE/ENOBUFS/ENOMEM is retried after this
// delay, doubled on each failure up to the maximum: descriptors held by
// someone else than the server (files, other sockets) free up without a
// connection of ours closing.
constexpr int64_t kAcceptRetryFirstNs = 10 * 1000 * 1000;
constexpr int64_t kAcceptRetryMaxNs = 1000 * 1000 * 1000;

} // namespace cq

struct cq_channel : cq::IoObject {
    cq_queue *q = nullptr;
    bool connected = false;
    bool closed = false;
    bool connect_pending = false;
    void *connect_tag = nullptr;
    int error = 0; // why it closed
    cq::Buffer in, out;
    cq::resp::Parser parser{cq::resp::Parser::Mode::Reply};
    std::deque<void *> calls; // tags waiting for replies, oldest first
    bool held = false;        // in q->held_channels: its writes wait for cq_release_calls
};

namespace cq {
struct ServerConn : IoObject {
    cq_server *server = nullptr;
    Buffer in, out;
    resp::Parser parser{resp::Parser::Mode::Command};
    std::deque<Slot> replies;
    uint64_t next_seq = 0; // sequence number of the next slot; first is next_seq - size
    size_t slot_bytes = 0; // bytes of the ready replies waiting in slots
    bool closing = false;  // a protocol error was answered: close once flushed
    bool peer_eof = false; // the peer shut down its side: answer, flush, then close
    bool resp3 = false;    // HELLO 3 was received: nil is sent as RESP3's null
};
} // namespace cq

struct cq_server : cq::IoObject {
    cq_queue *q = nullptr;
    unsigned flags = 0;
    int port = 0;   // 0 for a unix socket
    int family = 0; // AF_INET, AF_INET6 or AF_UNIX
    // A unix socket's file, made absolute so that a chdir() before closing
    // does not unlink another file; and its identity, so that closing never
    // removes a socket that someone else has bound at that path since.
    std::string unix_file;
    dev_t unix_dev = 0;
    ino_t unix_ino = 0;
    bool closed = false;
    bool accept_paused = false;  // out of file descriptors: see kAcceptRetryFirstNs
    int64_t accept_retry_at = 0; // when accepting is tried again
    int64_t accept_backoff = 0;  // the delay before that retry
    std::deque<void *> slots;    // cq_server_request tags waiting for a request
    std::deque<cq::Pending> backlog;
    std::unordered_set<cq::ServerConn *> conns;
};

struct cq_call {
    cq_queue *q;
    uint64_t conn_id;
    uint64_t seq;
};

namespace cq {
// A thread asleep in cq_next (any) or cq_pluck (tag), each on its own
// condition variable so that an event wakes the one thread it is for
// (grpc's pluckers), not every sleeper.
struct Waiter {
    bool any = false;
    void *tag = nullptr;
    bool signalled = false;
    std::condition_variable cv;
};
} // namespace cq

struct cq_queue {
    std::mutex mu;
    std::unordered_multimap<void *, cq::Waiter *> pluckers; // by tag
    std::vector<cq::Waiter *> any_waiters;                  // cq_next, oldest first
    cq::Poller poller;
    cq::IoObject wake; // eventfd (Linux) or the read end of a pipe
    int wake_write = -1;
    // A wake-up is written and not yet drained. Atomic: cq_alarm_start kicks
    // without the lock.
    std::atomic<bool> wake_armed{false};
    // What cq_alarm_start reads without the lock to decide whether to kick:
    // whether cq_fd() was ever handed out (an event loop may watch it, and it
    // must turn readable for every new alarm), and the deadline of the
    // poller's current wait in epoll (cq::kNotAsleep when none waits).
    std::atomic<bool> fd_handed_out{false};
    // The fields cq_alarm_start writes, on a cache line of their own (and of
    // asleep_until's): the thread starting alarms and the poller thread
    // taking them do not bounce the lines the other writes.
    alignas(64) std::atomic<int64_t> asleep_until{cq::kNotAsleep};
    // Alarms started since the timers were last looked at (see NewAlarm);
    // no new ones once alarms_closed is set (shutdown).
    alignas(64) std::atomic<cq::NewAlarm *> new_alarms{nullptr};
    std::atomic<uint64_t> next_alarm_id{1};
    std::atomic<bool> alarms_closed{false};
    alignas(64) bool polling = false; // one thread holds the poller role
    bool driving = false;             // that thread is handling readiness under the lock
    bool shutdown = false;
    unsigned corked = 0;                         // cq_cork depth: responses wait for cq_uncork
    std::vector<uint64_t> corked_conns;          // server connections with responses held back
    unsigned calls_held = 0;                     // cq_hold_calls depth (client side)
    std::vector<cq_channel *> held_channels;     // channels with calls held back
    uint64_t generation = cq::fork_generation(); // see fork.h
    bool orphan = false; // being freed in a child of fork: the epoll set is the parent's
    cq_limits limits{};
    uint64_t next_id = 1;
    std::unordered_map<uint64_t, cq::IoObject *> io;
    std::deque<cq_event> events;
    std::unordered_map<uint64_t, cq::Alarm> alarms;
    std::priority_queue<cq::TimerEntry, std::vector<cq::TimerEntry>, std::greater<>> timers;
    std::unordered_set<cq_channel *> channels;
    std::unordered_set<cq_server *> servers;
    std::unordered_set<cq_call *> calls;
    std::vector<cq::Ready> ready; // the poller thread's scratch space
};

namespace cq {

// True in a child of fork() for a queue its parent made (see fork.h).
inline bool
forked(const cq_queue *q)
{
    return q->generation != fork_generation();
}

// What cq_next/cq_pluck return when an allocation failed: a timeout, after
// which the caller simply waits again.
inline cq_event
failed_event()
{
    cq_event ev{};
    ev.type = CQ_EVENT_TIMEOUT;
    return ev;
}

// Locked. Queues an event; wakes sleepers and, when not called from the
// poller's own round, the thread (or event loop) that waits on the poller.
void push_event(cq_queue *q, cq_op op, void *tag, int ok, int error, cq_value *value = nullptr,
                cq_call *call = nullptr);
// Makes the wake-up fd readable (once until drained). Locked, except from
// cq_alarm_start (see drain_wakeup for why that is safe).
void kick(cq_queue *q);
// Locked. Wakes every sleeping waiter (shutdown).
void wake_all(cq_queue *q);
// Locked. Registration with the poller under a fresh id.
int register_io(cq_queue *q, IoObject *obj, uint32_t interest);
void set_interest(cq_queue *q, IoObject *obj, uint32_t interest);
void unregister_io(cq_queue *q, IoObject *obj); // also closes the fd

// Sockets: non-blocking, close-on-exec, and with TCP_NODELAY for small calls
// (TCP only: never called on an AF_UNIX socket).
int open_socket(int family, int *fd);
void set_nodelay(int fd);
// Reads what the socket holds, up to a budget per call so one busy connection
// cannot starve the others. 0: fine (*eof: the peer closed); else an errno.
int read_some(int fd, Buffer &in, bool *eof);
// Writes what the kernel takes. 0: all sent or it would block; else an error.
int write_some(int fd, Buffer &out);
// The path of a "unix:PATH" host, or nullptr for a TCP host.
const char *unix_path(const char *host);
// A host and port as a socket address: "unix:PATH" (port ignored; CQ_E_INVALID
// for an empty path or one too long for sun_path), else a name or numeric
// address looked up with getaddrinfo (may block; CQ_E_RESOLVE).
int resolve(const char *host, int port, bool passive, struct sockaddr_storage *addr,
            unsigned *addrlen, int *family);

// Locked. Reactions to readiness, in channel.cc and server.cc.
void channel_ready(cq_queue *q, cq_channel *ch, uint32_t events);
void channel_fail(cq_queue *q, cq_channel *ch, int error);
void listener_ready(cq_queue *q, cq_server *server, uint32_t events);
void conn_ready(cq_queue *q, ServerConn *conn, uint32_t events);
void server_conn_fail(cq_queue *q, ServerConn *conn); // closes it (out of memory)
void server_close(cq_queue *q, cq_server *server, int error);
// Locked. One cq_server_request: a request from the backlog, else a slot.
int request_locked(cq_queue *q, cq_server *server, void *tag);
// Locked. The earliest paused listener's retry time (CQ_INFINITE: none), and
// resuming the listeners whose time has come.
int64_t accept_retry_deadline(cq_queue *q);
void retry_accepts(cq_queue *q, int64_t now);

} // namespace cq

#endif // CQ_CORE_INTERNAL_H
