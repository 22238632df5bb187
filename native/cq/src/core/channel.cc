// channel.cc: the client side. One connection (TCP, or a unix socket for a
// "unix:PATH" host); commands are pipelined and their replies, which a RESP
// server sends in order, complete the calls in order.
#include <algorithm>
#include <cerrno>
#include <memory>
#include <new>

#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "resp.h"

namespace cq {
namespace {

void
update_interest(cq_queue *q, cq_channel *ch)
{
    if (ch->closed)
        return;
    uint32_t want = ch->connected ? kReadable : kWritable;
    if (ch->connected && ch->out.size() && !ch->held) // held: cq_release_calls writes
        want |= kWritable;
    set_interest(q, ch, want);
}

// Locked. Writes what the kernel takes; false if the channel failed.
bool
flush(cq_queue *q, cq_channel *ch)
{
    int err = write_some(ch->fd, ch->out);
    if (err) {
        channel_fail(q, ch, err);
        return false;
    }
    return true;
}

// Locked. Completes one call per complete reply in the buffer.
bool
deliver_replies(cq_queue *q, cq_channel *ch)
{
    while (ch->in.size()) {
        resp::Parser::Step p = ch->parser.feed(ch->in.begin(), ch->in.size(), q->limits);
        ch->in.consume(p.consumed);
        if (p.status == 0)
            break;
        if (p.status < 0) {
            channel_fail(q, ch, p.status);
            return false;
        }
        if (ch->calls.empty()) { // a reply nobody asked for: the stream is out of step
            cq_value_free(p.value);
            channel_fail(q, ch, CQ_E_PROTOCOL);
            return false;
        }
        void *tag = ch->calls.front();
        ch->calls.pop_front();
        push_event(q, CQ_OP_CALL, tag, 1, 0, p.value);
    }
    return true;
}

// Locked. Reads until EAGAIN or the budget; false if the channel failed.
bool
read_replies(cq_queue *q, cq_channel *ch)
{
    bool eof = false;
    int err = read_some(ch->fd, ch->in, &eof);
    if (err) {
        channel_fail(q, ch, err);
        return false;
    }
    if (!deliver_replies(q, ch))
        return false;
    if (eof) {
        channel_fail(q, ch, CQ_E_CLOSED);
        return false;
    }
    return true;
}

} // namespace

void
channel_fail(cq_queue *q, cq_channel *ch, int error)
{
    if (ch->closed)
        return;
    ch->closed = true;
    ch->error = error;
    if (ch->connect_pending) {
        ch->connect_pending = false;
        push_event(q, CQ_OP_CONNECT, ch->connect_tag, 0, error);
    }
    for (void *tag : ch->calls)
        push_event(q, CQ_OP_CALL, tag, 0, error);
    ch->calls.clear();
    unregister_io(q, ch);
    ch->in.clear();
    ch->out.clear();
}

void
channel_ready(cq_queue *q, cq_channel *ch, uint32_t events)
{
    if (!ch->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err) {
            channel_fail(q, ch, err);
            return;
        }
        if (!(events & (kWritable | kHangup)))
            return;
        ch->connected = true;
        ch->connect_pending = false;
        push_event(q, CQ_OP_CONNECT, ch->connect_tag, 1, 0);
        events |= kWritable; // calls queued while connecting go out now
    }
    if ((events & kReadable) && !read_replies(q, ch))
        return;
    if ((events & kWritable) && !flush(q, ch))
        return;
    update_interest(q, ch);
}

} // namespace cq

extern "C" {

int
cq_channel_create(cq_queue *q, const char *host, int port, void *tag, cq_channel **out) noexcept
try {
    *out = nullptr;
    sockaddr_storage addr{};
    unsigned addrlen = 0;
    int family = 0;
    // The name lookup may block: it runs before the lock is taken.
    int err = cq::resolve(host, port, false, &addr, &addrlen, &family);
    if (err)
        return err;
    int raw_fd = -1;
    if ((err = cq::open_socket(family, &raw_fd)) != 0)
        return err;
    cq::UniqueFd fd(raw_fd);
    if (family != AF_UNIX)
        cq::set_nodelay(fd.get());
    // A unix socket connects at once or fails at once: ENOENT (no such file),
    // ECONNREFUSED (nobody listens), EAGAIN (the listener's backlog is full;
    // unlike TCP nothing was started, so it is a failure, as in libuv).
    int connect_error = 0;
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), addrlen) < 0 &&
        errno != EINPROGRESS)
        connect_error = errno;

    if (cq::forked(q))
        return CQ_E_FORKED;
    std::lock_guard<std::mutex> lock(q->mu);
    if (q->shutdown)
        return CQ_E_SHUTDOWN;
    std::unique_ptr<cq_channel> ch(new cq_channel());
    ch->q = q;
    ch->fd = fd.get();
    ch->kind = cq::IoKind::Channel;
    ch->connect_tag = tag;
    ch->connect_pending = true;
    // Writable means "connected or failed"; the poller's round finds out which.
    if ((err = cq::register_io(q, ch.get(), cq::kWritable)) != 0)
        return err;
    try {
        q->channels.insert(ch.get());
    } catch (...) {
        cq::unregister_io(q, ch.get()); // closes the fd
        fd.release();
        throw;
    }
    fd.release(); // the channel owns it now
    // A refusal the kernel knew at once still arrives as the connect event.
    if (connect_error)
        cq::channel_fail(q, ch.get(), connect_error);
    *out = ch.release();
    return CQ_OK;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return CQ_E_NOMEM;
}

int
cq_channel_call(cq_channel *ch, size_t argc, const char *const *argv, const size_t *lens,
                void *tag) noexcept
try {
    if (argc == 0)
        return CQ_E_INVALID;
    cq_queue *q = ch->q;
    if (cq::forked(q))
        return CQ_E_FORKED;
    std::lock_guard<std::mutex> lock(q->mu);
    if (q->shutdown)
        return CQ_E_SHUTDOWN;
    if (ch->closed)
        return ch->error ? ch->error : CQ_E_CLOSED;
    // Held (cq_hold_calls): listed before anything else changes, so that an
    // allocation failure here leaves no command behind.
    bool hold = ch->connected && q->calls_held > 0;
    if (hold && !ch->held) {
        q->held_channels.push_back(ch);
        ch->held = true;
    }
    // The tag first, then the bytes: if either allocation throws, neither a
    // command without a waiter nor a waiter without a command is left.
    ch->calls.push_back(tag);
    try {
        ch->out.compact();
        size_t before = ch->out.data.size();
        try {
            cq::resp::encode_command(ch->out.data, argc, argv, lens);
        } catch (...) {
            ch->out.data.resize(before); // drop a half-encoded command
            throw;
        }
    } catch (...) {
        ch->calls.pop_back();
        throw;
    }
    if (ch->connected && !hold) {
        // Write from the caller's thread: the common case needs no poller round.
        if (!cq::flush(q, ch))
            return CQ_OK; // failed: the call's event is queued
        cq::update_interest(q, ch);
    }
    return CQ_OK;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return CQ_E_NOMEM;
}

void
cq_hold_calls(cq_queue *q) noexcept
try {
    if (cq::forked(q))
        return;
    std::lock_guard<std::mutex> lock(q->mu);
    ++q->calls_held;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return;
}

void
cq_release_calls(cq_queue *q) noexcept
try {
    if (cq::forked(q))
        return;
    std::lock_guard<std::mutex> lock(q->mu);
    if (q->calls_held == 0 || --q->calls_held > 0)
        return;
    std::vector<cq_channel *> held;
    held.swap(q->held_channels);
    for (cq_channel *ch : held) {
        ch->held = false;
        if (!ch->closed && cq::flush(q, ch)) // a failure queues the calls' events
            cq::update_interest(q, ch);
    }
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return;
}

void
cq_channel_destroy(cq_channel *ch) noexcept
try {
    cq_queue *q = ch->q;
    if (cq::forked(q))
        return; // freed with the queue, without touching the parent's epoll set
    std::lock_guard<std::mutex> lock(q->mu);
    cq::channel_fail(q, ch, CQ_E_CLOSED);
    q->channels.erase(ch);
    if (ch->held) {
        auto &held = q->held_channels;
        held.erase(std::remove(held.begin(), held.end(), ch), held.end());
    }
    delete ch;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return;
}

} // extern "C"
