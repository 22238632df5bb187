// server.cc: the server side. A listener (TCP, or a unix socket for a
// "unix:PATH" host) accepts connections; each connection parses commands,
// answers PING/ECHO itself (with CQ_SERVER_BUILTINS) and hands every other
// command to the application as a CQ_OP_REQUEST event. Responses leave in
// request order whatever order the application answers in.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "resp.h"

namespace cq {
namespace {

bool
name_is(const cq_value &arg, const char *name)
{
    size_t n = std::strlen(name);
    return arg.len == n && strncasecmp(arg.data, name, n) == 0;
}

void
append_bulk(std::string &out, const cq_value &arg)
{
    cq_value bulk{};
    bulk.type = CQ_BULK;
    bulk.data = arg.data;
    bulk.len = arg.len;
    resp::encode_value(out, bulk);
}

// True when the connection must not read more: see kMaxOutstanding.
bool
backlogged(const ServerConn *conn)
{
    return conn->replies.size() >= kMaxOutstanding;
}

// True when the replies the peer has not read pass cq_limits.max_output.
bool
over_output_limit(const cq_queue *q, const ServerConn *conn)
{
    return conn->out.size() + conn->slot_bytes > q->limits.max_output;
}

// Locked. Closes and frees a connection. Requests it had handed out stay
// valid handles; responding to them reports CQ_E_CLOSED. Requests still in
// the server's backlog are dropped now: nobody could answer them, and a peer
// that connects, pipelines and leaves must not pile them up.
void
conn_close(cq_queue *q, ServerConn *conn)
{
    cq_server *server = conn->server;
    uint64_t id = conn->id;
    unregister_io(q, conn);
    server->conns.erase(conn);
    delete conn;
    std::deque<Pending> &backlog = server->backlog;
    for (auto it = backlog.begin(); it != backlog.end();) {
        if (it->conn_id == id) {
            cq_value_free(it->args);
            it = backlog.erase(it);
        } else {
            ++it;
        }
    }
    if (server->accept_paused && !server->closed) {
        // A descriptor was freed: accepting may work again.
        server->accept_paused = false;
        set_interest(q, server, kReadable);
    }
}

// The HELLO command, answered by the core whatever the flags: it chooses
// the encoding of every reply on the connection, which only the core knows.
// "HELLO [protover [AUTH user pass] [SETNAME name]]", as redis-server.
void
hello(ServerConn *conn, const cq_value *args, std::string &reply)
{
    bool resp3 = conn->resp3;
    if (args->count >= 2) {
        const cq_value &ver = args->items[1];
        int64_t version = 0;
        auto [ptr, ec] = std::from_chars(ver.data, ver.data + ver.len, version);
        if (ec != std::errc() || ptr != ver.data + ver.len || ver.len == 0) {
            reply = "-ERR Protocol version is not an integer or out of range\r\n";
            return;
        }
        if (version != 2 && version != 3) {
            reply = "-NOPROTO unsupported protocol version\r\n";
            return;
        }
        for (size_t i = 2; i < args->count;) {
            // No users or names here: AUTH is accepted as for a "nopass"
            // default user, SETNAME ignored.
            if (name_is(args->items[i], "AUTH") && i + 2 < args->count) {
                i += 3;
            } else if (name_is(args->items[i], "SETNAME") && i + 1 < args->count) {
                i += 2;
            } else {
                reply = "-ERR Syntax error in HELLO option\r\n";
                return;
            }
        }
        resp3 = version == 3;
    }
    conn->resp3 = resp3;
    // The fields redis-server sends; a map in RESP3, a flat array in RESP2.
    struct Field {
        const char *key;
        std::string value; // already encoded
    };
    const std::string id = ":" + std::to_string(conn->id) + "\r\n";
    const Field fields[] = {
        {"server", "$2\r\ncq\r\n"},
        {"version", "$5\r\n0.1.0\r\n"},
        {"proto", resp3 ? ":3\r\n" : ":2\r\n"},
        {"id", id},
        {"mode", "$10\r\nstandalone\r\n"},
        {"role", "$6\r\nmaster\r\n"},
        {"modules", "*0\r\n"},
    };
    const size_t n = sizeof fields / sizeof fields[0];
    reply = (resp3 ? "%" : "*") + std::to_string(resp3 ? n : 2 * n) + "\r\n";
    for (const Field &f : fields) {
        cq_value key{};
        key.type = CQ_BULK;
        key.data = const_cast<char *>(f.key);
        key.len = std::strlen(f.key);
        resp::encode_value(reply, key);
        reply += f.value;
    }
}

// Locked. Answers that are ready, in order, move to the output buffer.
void
collect_ready(ServerConn *conn)
{
    while (!conn->replies.empty() && conn->replies.front().ready) {
        const std::string &bytes = conn->replies.front().bytes;
        conn->out.append(bytes.data(), bytes.size());
        conn->slot_bytes -= bytes.size();
        conn->replies.pop_front();
    }
}

void
add_ready_reply(ServerConn *conn, std::string &&bytes)
{
    if (conn->replies.empty()) {
        conn->out.append(bytes.data(), bytes.size());
        return;
    }
    conn->slot_bytes += bytes.size();
    conn->replies.push_back(Slot{true, conn->resp3, std::move(bytes)});
    conn->next_seq++;
}

bool
has_nil(const cq_value &v)
{
    if (v.type == CQ_NIL)
        return true;
    for (size_t i = 0; v.type == CQ_ARRAY && i < v.count; i++)
        if (has_nil(v.items[i]))
            return true;
    return false;
}

// Locked. Hands one request to the application (or to the backlog).
void
deliver(cq_queue *q, cq_server *server, uint64_t conn_id, uint64_t seq, cq_value *args)
{
    if (server->slots.empty()) {
        server->backlog.push_back(Pending{conn_id, seq, args});
        return;
    }
    cq_call *call = new (std::nothrow) cq_call{q, conn_id, seq};
    void *tag = server->slots.front();
    server->slots.pop_front();
    if (call == nullptr) {
        cq_value_free(args);
        push_event(q, CQ_OP_REQUEST, tag, 0, CQ_E_NOMEM);
        return;
    }
    q->calls.insert(call);
    push_event(q, CQ_OP_REQUEST, tag, 1, 0, args, call);
}

bool
builtin(ServerConn *conn, cq_value *args)
{
    const cq_value &name = args->items[0];
    std::string reply;
    if (name_is(name, "HELLO")) {
        hello(conn, args, reply);
    } else if (!(conn->server->flags & CQ_SERVER_BUILTINS)) {
        return false;
    } else if (name_is(name, "PING")) {
        if (args->count == 1) {
            reply = "+PONG\r\n";
        } else if (args->count == 2) {
            append_bulk(reply, args->items[1]);
        } else {
            reply = "-ERR wrong number of arguments for 'ping' command\r\n";
        }
    } else if (name_is(name, "ECHO")) {
        if (args->count == 2) {
            append_bulk(reply, args->items[1]);
        } else {
            reply = "-ERR wrong number of arguments for 'echo' command\r\n";
        }
    } else {
        return false;
    }
    add_ready_reply(conn, std::move(reply));
    cq_value_free(args);
    return true;
}

// Locked. Turns buffered bytes into answers and requests. True when it
// stopped with input left because of back-pressure.
bool
process_input(cq_queue *q, ServerConn *conn)
{
    bool blocked = false;
    while (!conn->closing && conn->in.size()) {
        if (backlogged(conn)) {
            blocked = true; // resume when the application answers or the peer reads
            break;
        }
        resp::Parser::Step p = conn->parser.feed(conn->in.begin(), conn->in.size(), q->limits);
        conn->in.consume(p.consumed);
        if (p.status == 0)
            break;
        if (p.status < 0) {
            // Tell the peer why, then close once everything before it is sent.
            std::string reply;
            resp::encode_error(reply, p.message);
            add_ready_reply(conn, std::move(reply));
            conn->closing = true;
            conn->in.clear();
            break;
        }
        if (p.value == nullptr)
            continue; // an empty line
        if (builtin(conn, p.value))
            continue;
        conn->replies.push_back(Slot{false, conn->resp3, {}});
        uint64_t seq = conn->next_seq++;
        deliver(q, conn->server, conn->id, seq, p.value);
    }
    collect_ready(conn);
    return blocked;
}

// Locked. Writes what the kernel takes; false if the connection was closed.
bool
flush(cq_queue *q, ServerConn *conn)
{
    if (write_some(conn->fd, conn->out) != 0) {
        conn_close(q, conn);
        return false;
    }
    if ((conn->closing || conn->peer_eof) && conn->replies.empty() && !conn->out.size()) {
        // Everything asked for was answered and sent. After EOF, bytes of an
        // incomplete command may be left: the peer can never finish it.
        conn_close(q, conn);
        return false;
    }
    return true;
}

// Locked. Parses what is buffered and writes what is ready, again while
// writing lifts the back-pressure that stopped the parsing. False if closed.
bool
pump(cq_queue *q, ServerConn *conn)
{
    for (;;) {
        bool blocked = process_input(q, conn);
        if (over_output_limit(q, conn)) {
            // A peer that does not read its replies while it goes on sending
            // commands: disconnected, as redis' output buffer limits do.
            conn_close(q, conn);
            return false;
        }
        if (!flush(q, conn))
            return false;
        if (!blocked || backlogged(conn))
            return true;
    }
}

void
update_interest(cq_queue *q, ServerConn *conn)
{
    bool reading = !conn->closing && !conn->peer_eof && !backlogged(conn);
    uint32_t want = reading ? static_cast<uint32_t>(kReadable) : 0u;
    if (conn->out.size())
        want |= kWritable;
    set_interest(q, conn, want);
}

// True when the socket file at path is stale: a socket that nobody listens
// on (connect() is refused), left by a server that died without closing. Not
// a regular file, not a live server's socket. (redis-server unlinks its
// unixsocket path unconditionally, taking the address from a running server.)
// A server of another process caught between its bind() and listen() looks
// stale too: an instant no probe can tell apart.
bool
stale_socket(const sockaddr_storage &addr, unsigned addrlen, const char *path)
{
    struct stat st{};
    if (::lstat(path, &st) < 0)
        return errno == ENOENT; // gone since bind(): binding again may work
    if (!S_ISSOCK(st.st_mode))
        return false;
    int raw = -1;
    if (open_socket(AF_UNIX, &raw) != 0)
        return false;
    UniqueFd probe(raw);
    // It answered: someone listens. EAGAIN: a full backlog, alive too.
    if (::connect(probe.get(), reinterpret_cast<const sockaddr *>(&addr), addrlen) == 0)
        return false;
    return errno == ECONNREFUSED || errno == ENOENT;
}

// Binds a unix listener at path, replacing a stale socket file (see
// stale_socket). 0 or an errno (EADDRINUSE: a live server or another file).
int
bind_unix(int fd, const sockaddr_storage &addr, unsigned addrlen, const char *path)
{
    const sockaddr *sa = reinterpret_cast<const sockaddr *>(&addr);
    if (::bind(fd, sa, addrlen) == 0)
        return 0;
    int err = errno;
    if (err != EADDRINUSE || !stale_socket(addr, addrlen, path))
        return err;
    if (::unlink(path) < 0 && errno != ENOENT)
        return EADDRINUSE;
    // Once: a server that binds the path in between keeps it (EADDRINUSE).
    return ::bind(fd, sa, addrlen) == 0 ? 0 : errno;
}

// The path a unix server unlinks when it closes, made absolute now: the
// process may chdir() before then. Relative if the working directory is gone.
std::string
absolute_path(const char *path)
{
    if (path[0] == '/')
        return path;
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr)
        return path;
    return std::string(cwd) + "/" + path;
}

// Unlinks the socket file cq_server_create bound, unless dismissed: every
// early return (or exception) after bind() leaves nothing behind.
class UnlinkOnFailure {
  public:
    explicit UnlinkOnFailure(const char *path) noexcept : path_(path) {}
    ~UnlinkOnFailure()
    {
        if (path_)
            ::unlink(path_);
    }
    UnlinkOnFailure(const UnlinkOnFailure &) = delete;
    UnlinkOnFailure &operator=(const UnlinkOnFailure &) = delete;
    void dismiss() noexcept
    {
        path_ = nullptr;
    }

  private:
    const char *path_;
};

// Locked. Removes a closing unix server's socket file, if it is still the
// one it bound (a server started since at that path keeps its own). Never in
// a child of fork(): the file belongs to the parent's listener.
void
remove_unix_file(cq_queue *q, cq_server *server)
{
    if (server->unix_file.empty() || forked(q))
        return;
    const char *file = server->unix_file.c_str();
    struct stat st{};
    if (::lstat(file, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == server->unix_dev &&
        st.st_ino == server->unix_ino)
        ::unlink(file);
}

} // namespace

void
listener_ready(cq_queue *q, cq_server *server, uint32_t)
{
    for (int accepted = 0; accepted < 256; accepted++) {
#ifdef SOCK_NONBLOCK
        int fd = ::accept4(server->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
        int fd = ::accept(server->fd, nullptr, nullptr);
        if (fd >= 0) {
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
#endif
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                // Level-triggered readiness would spin: stop listening until a
                // connection of ours closes, or the retry timer says try again
                // (the descriptors may belong to someone else entirely).
                int64_t backoff =
                    server->accept_backoff ? server->accept_backoff * 2 : kAcceptRetryFirstNs;
                server->accept_backoff = backoff < kAcceptRetryMaxNs ? backoff : kAcceptRetryMaxNs;
                server->accept_retry_at = cq_now() + server->accept_backoff;
                server->accept_paused = true;
                set_interest(q, server, 0);
            }
            return;
        }
        UniqueFd owned(fd);
        server->accept_backoff = 0;
        if (server->family != AF_UNIX)
            set_nodelay(fd);
        std::unique_ptr<ServerConn> conn(new ServerConn());
        conn->fd = fd;
        conn->kind = IoKind::ServerConn;
        conn->server = server;
        if (register_io(q, conn.get(), kReadable) != 0)
            return;
        try {
            server->conns.insert(conn.get());
        } catch (...) {
            unregister_io(q, conn.get()); // closes the fd
            owned.release();
            throw;
        }
        owned.release(); // the connection owns it now
        conn.release();
    }
}

void
conn_ready(cq_queue *q, ServerConn *conn, uint32_t events)
{
    bool reading = !conn->closing && !conn->peer_eof && !backlogged(conn);
    if ((events & kHangup) && !reading) {
        conn_close(q, conn); // reset, or both sides shut: nothing can be sent
        return;
    }
    bool eof = false;
    if ((events & kReadable) && reading) {
        if (read_some(conn->fd, conn->in, &eof) != 0) {
            conn_close(q, conn);
            return;
        }
    }
    // EOF only says the peer will send nothing more: it may still read (a
    // shutdown(SHUT_WR) after its last command). Its requests are answered and
    // sent first, as redis-server does; flush() closes once nothing is left.
    if (eof)
        conn->peer_eof = true;
    if (!pump(q, conn))
        return;
    update_interest(q, conn);
}

void
server_conn_fail(cq_queue *q, ServerConn *conn)
{
    conn_close(q, conn);
}

int64_t
accept_retry_deadline(cq_queue *q)
{
    int64_t earliest = CQ_INFINITE;
    for (cq_server *server : q->servers)
        if (server->accept_paused && !server->closed && server->accept_retry_at < earliest)
            earliest = server->accept_retry_at;
    return earliest;
}

void
retry_accepts(cq_queue *q, int64_t now)
{
    for (cq_server *server : q->servers) {
        if (server->accept_paused && !server->closed && server->accept_retry_at <= now) {
            server->accept_paused = false;
            set_interest(q, server, kReadable); // the next round tries accept() again
        }
    }
}

void
server_close(cq_queue *q, cq_server *server, int error)
{
    if (server->closed)
        return;
    server->closed = true;
    remove_unix_file(q, server); // before the listener closes: no one connects to a dead file
    unregister_io(q, server);
    std::vector<ServerConn *> conns(server->conns.begin(), server->conns.end());
    for (ServerConn *conn : conns)
        conn_close(q, conn);
    for (void *tag : server->slots)
        push_event(q, CQ_OP_REQUEST, tag, 0, error);
    server->slots.clear();
    for (Pending &p : server->backlog)
        cq_value_free(p.args);
    server->backlog.clear();
}

} // namespace cq

extern "C" {

int
cq_server_create(cq_queue *q, const char *host, int port, unsigned flags, cq_server **out) noexcept
try {
    *out = nullptr;
    sockaddr_storage addr{};
    unsigned addrlen = 0;
    int family = 0;
    int err = cq::resolve(host, port, true, &addr, &addrlen, &family);
    if (err)
        return err;
    int raw_fd = -1;
    if ((err = cq::open_socket(family, &raw_fd)) != 0)
        return err;
    cq::UniqueFd fd(raw_fd);
    const char *path = cq::unix_path(host);
    int bound_port = 0;
    if (family == AF_UNIX) {
        if ((err = cq::bind_unix(fd.get(), addr, addrlen, path)) != 0)
            return err;
    } else {
        int one = 1;
        setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&addr), addrlen) < 0)
            return errno;
    }
    cq::UnlinkOnFailure created(family == AF_UNIX ? path : nullptr);
    if (::listen(fd.get(), 1024) < 0)
        return errno;
    std::string unix_file;
    struct stat st{};
    if (family == AF_UNIX) {
        unix_file = cq::absolute_path(path);
        if (::stat(path, &st) < 0)
            return errno;
    } else {
        socklen_t len = sizeof addr;
        getsockname(fd.get(), reinterpret_cast<sockaddr *>(&addr), &len);
        bound_port = family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6 *>(&addr)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in *>(&addr)->sin_port);
    }

    if (cq::forked(q))
        return CQ_E_FORKED;
    std::lock_guard<std::mutex> lock(q->mu);
    if (q->shutdown)
        return CQ_E_SHUTDOWN;
    std::unique_ptr<cq_server> server(new cq_server());
    server->q = q;
    server->fd = fd.get();
    server->kind = cq::IoKind::Listener;
    server->flags = flags;
    server->port = bound_port;
    server->family = family;
    server->unix_file = std::move(unix_file);
    server->unix_dev = st.st_dev;
    server->unix_ino = st.st_ino;
    if ((err = cq::register_io(q, server.get(), cq::kReadable)) != 0)
        return err;
    try {
        q->servers.insert(server.get());
    } catch (...) {
        cq::unregister_io(q, server.get()); // closes the fd
        fd.release();
        throw;
    }
    // The server owns the socket now, and its file: server_close removes it.
    fd.release();
    created.dismiss();
    *out = server.release();
    return CQ_OK;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return CQ_E_NOMEM;
}

int
cq_server_port(cq_server *server) noexcept
{
    return server->port;
}

int
cq_server_request(cq_server *server, void *tag) noexcept
{
    size_t opened;
    return cq_server_request_many(server, tag, 1, &opened);
}

int
cq_server_request_many(cq_server *server, void *tag, size_t n, size_t *opened) noexcept
try {
    *opened = 0;
    cq_queue *q = server->q;
    if (cq::forked(q))
        return CQ_E_FORKED;
    std::lock_guard<std::mutex> lock(q->mu);
    for (; *opened < n; ++*opened) {
        int rc = cq::request_locked(q, server, tag);
        if (rc != CQ_OK)
            return rc;
    }
    return CQ_OK;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return CQ_E_NOMEM;
}

} // extern "C"

namespace cq {

// Locked. One cq_server_request.
int
request_locked(cq_queue *q, cq_server *server, void *tag)
{
    if (q->shutdown)
        return CQ_E_SHUTDOWN;
    if (server->closed)
        return CQ_E_CLOSED;
    while (!server->backlog.empty()) {
        cq::Pending p = server->backlog.front();
        server->backlog.pop_front();
        if (!q->io.count(p.conn_id)) { // its connection is gone: nobody to answer
            cq_value_free(p.args);
            continue;
        }
        server->slots.push_back(tag);
        cq::deliver(q, server, p.conn_id, p.seq, p.args);
        return CQ_OK;
    }
    server->slots.push_back(tag);
    return CQ_OK;
}

} // namespace cq

extern "C" {

int
cq_server_take(cq_server *server, cq_value **args, cq_call **call) noexcept
{
    size_t taken;
    *args = nullptr;
    *call = nullptr;
    int rc = cq_server_take_many(server, args, call, 1, &taken);
    return rc == CQ_OK && taken == 0 ? EAGAIN : rc;
}

int
cq_server_take_many(cq_server *server, cq_value **args, cq_call **calls, size_t max,
                    size_t *taken) noexcept
try {
    *taken = 0;
    cq_queue *q = server->q;
    if (cq::forked(q))
        return CQ_E_FORKED;
    std::lock_guard<std::mutex> lock(q->mu);
    if (q->shutdown)
        return CQ_E_SHUTDOWN;
    if (server->closed)
        return CQ_E_CLOSED;
    while (*taken < max && !server->backlog.empty()) {
        cq::Pending p = server->backlog.front();
        if (!q->io.count(p.conn_id)) { // its connection is gone: nobody to answer
            server->backlog.pop_front();
            cq_value_free(p.args);
            continue;
        }
        // Allocate before taking it out: if either throws, it is still queued
        // (and the ones taken so far are the caller's).
        auto *call = new cq_call{q, p.conn_id, p.seq};
        try {
            q->calls.insert(call);
        } catch (...) {
            delete call;
            throw;
        }
        server->backlog.pop_front();
        args[*taken] = p.args;
        calls[*taken] = call;
        ++*taken;
    }
    return CQ_OK;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return *taken ? CQ_OK : CQ_E_NOMEM;
}

void
cq_server_destroy(cq_server *server) noexcept
try {
    cq_queue *q = server->q;
    if (cq::forked(q))
        return; // freed with the queue, without touching the parent's epoll set
    std::lock_guard<std::mutex> lock(q->mu);
    cq::server_close(q, server, CQ_E_CLOSED);
    q->servers.erase(server);
    delete server;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return;
}

} // extern "C"

namespace {

// Adds a connection to a list of those to write, unless it was the last one
// added (a burst's responses mostly come in runs of one connection).
void
remember_conn(std::vector<uint64_t> &conns, uint64_t id)
{
    if (conns.empty() || conns.back() != id)
        conns.push_back(id);
}

// Locked. Stores one encoded response in its connection's slot and frees the
// call; the connection's id goes to `touched` (once per run of the same
// connection) for the caller to write: at once, or at cq_uncork when corked.
int
respond_locked(cq_queue *q, cq_call *call, std::string &bytes, const cq_value &response,
               std::vector<uint64_t> &touched)
{
    q->calls.erase(call);
    auto it = q->io.find(call->conn_id);
    int result = q->shutdown ? CQ_E_SHUTDOWN : CQ_E_CLOSED;
    if (it != q->io.end() && it->second->kind == cq::IoKind::ServerConn) {
        auto *conn = static_cast<cq::ServerConn *>(it->second);
        uint64_t first = conn->next_seq - conn->replies.size();
        cq::Slot &slot = conn->replies[call->seq - first];
        if (slot.resp3 && cq::has_nil(response)) {
            bytes.clear();
            cq::resp::encode_value(bytes, response, true);
        }
        slot.ready = true;
        conn->slot_bytes += bytes.size();
        slot.bytes = std::move(bytes);
        cq::collect_ready(conn);
        result = CQ_OK;
        remember_conn(touched, call->conn_id);
    }
    delete call;
    return result;
}

// Locked. Writes the responses now ready on these connections, or, while the
// queue is corked, leaves them for cq_uncork.
void
write_touched(cq_queue *q, const std::vector<uint64_t> &touched)
{
    if (q->corked > 0) {
        for (uint64_t id : touched)
            remember_conn(q->corked_conns, id);
        return;
    }
    for (uint64_t id : touched) {
        auto it = q->io.find(id);
        if (it == q->io.end() || it->second->kind != cq::IoKind::ServerConn)
            continue; // closed meanwhile: its responses went with it
        auto *conn = static_cast<cq::ServerConn *>(it->second);
        if (cq::pump(q, conn)) // parses what back-pressure held, then writes
            cq::update_interest(q, conn);
    }
}

} // namespace

extern "C" {

int
cq_call_respond(cq_call *call, const cq_value *response) noexcept
{
    int result;
    cq_call_respond_many(&call, &response, 1, &result);
    return result;
}

size_t
cq_call_respond_many(cq_call *const *calls, const cq_value *const *responses, size_t n,
                     int *results) noexcept
try {
    // Encoded before taking the lock; only a nil differs in RESP3, and only
    // the connection (under the lock) knows which protocol it speaks.
    std::fill(results, results + n, CQ_OK); // before anything can throw: the catch reads them
    std::vector<std::string> encoded(n);
    cq_queue *q = nullptr;
    for (size_t i = 0; i < n; ++i) {
        if (!cq::resp::encodable(*responses[i])) {
            results[i] = CQ_E_INVALID; // the call is kept: still answerable
            continue;
        }
        cq::resp::encode_value(encoded[i], *responses[i]);
        q = calls[i]->q;
    }
    if (q == nullptr)
        return 0;
    if (cq::forked(q)) {
        for (size_t i = 0; i < n; ++i)
            if (results[i] == CQ_OK)
                results[i] = CQ_E_FORKED;
        return 0;
    }
    size_t answered = 0;
    std::vector<uint64_t> touched;
    touched.reserve(n);
    std::lock_guard<std::mutex> lock(q->mu);
    for (size_t i = 0; i < n; ++i) {
        if (results[i] != CQ_OK)
            continue;
        results[i] = respond_locked(q, calls[i], encoded[i], *responses[i], touched);
        ++answered;
    }
    write_touched(q, touched);
    return answered;
} catch (...) { // see CQ_NOEXCEPT in cq.h
    // Out of memory: as for cq_call_respond, a call not reported answered is
    // not answerable again (its slot stays empty; closing the queue frees it).
    for (size_t i = 0; i < n; ++i)
        results[i] = results[i] == CQ_E_INVALID ? CQ_E_INVALID : CQ_E_NOMEM;
    return 0;
}

void
cq_cork(cq_queue *q) noexcept
{
    if (cq::forked(q))
        return;
    std::lock_guard<std::mutex> lock(q->mu);
    ++q->corked;
}

void
cq_uncork(cq_queue *q) noexcept
try {
    if (cq::forked(q))
        return;
    std::lock_guard<std::mutex> lock(q->mu);
    if (q->corked == 0 || --q->corked > 0)
        return;
    std::vector<uint64_t> held;
    held.swap(q->corked_conns);
    write_touched(q, held);
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return;     // only the swap's vector can throw: nothing was changed
}

void
cq_call_destroy(cq_call *call) noexcept
try {
    static const char kMessage[] = "ERR the server dropped the request without a response";
    cq_value error{};
    error.type = CQ_ERROR;
    error.data = const_cast<char *>(kMessage);
    error.len = sizeof kMessage - 1;
    cq_call_respond(call, &error);
} catch (...) { // see CQ_NOEXCEPT in cq.h
    return;
}

} // extern "C"
