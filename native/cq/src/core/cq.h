/* cq.h: the public API of the completion-queue core.
 *
 * A small cousin of gRPC core's completion queue. Every operation is started
 * with an opaque tag and completes later as one event (tag, ok, value) that a
 * thread collects with cq_next() or cq_pluck(). Those two calls also *drive*
 * the I/O: the thread inside them waits on epoll (poll off Linux), runs the
 * timers and does the socket reads and writes, as grpc_completion_queue_next
 * does. Operations may be started from any thread; a wake-up fd tells the
 * thread that drives the I/O that something changed.
 *
 * Wire protocol: RESP2, so redis-cli, redis-benchmark and redis-server are
 * real peers. No Python.h here: the core never touches a Python object, so
 * shutdown, timers and I/O never need the GIL.
 *
 * Ownership in one rule: whatever an event hands over (value, call) belongs to
 * the receiver; handles returned by *_create belong to the caller until its
 * *_destroy, or until cq_destroy(), which frees everything that is left.
 * POSIX only (Linux and macOS).
 */
#ifndef CQ_CORE_CQ_H
#define CQ_CORE_CQ_H

#include <stddef.h>
#include <stdint.h>

/* No C++ exception ever leaves a function of this API (it would terminate
 * the process inside C or Cython code): each one is noexcept and catches what
 * the C++ library may throw, in practice only std::bad_alloc, reporting
 * CQ_E_NOMEM (cq_next/cq_pluck: a TIMEOUT event; the caller tries again). */
#ifdef __cplusplus
#define CQ_NOEXCEPT noexcept
#else
#define CQ_NOEXCEPT
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cq_queue cq_queue;
typedef struct cq_channel cq_channel; /* one client connection */
typedef struct cq_server cq_server;   /* one listening socket and its connections */
typedef struct cq_call cq_call;       /* one request received by a server */

/* ----- status codes ----------------------------------------------------------
 * 0 is success, a positive number is an errno value from a socket call, and a
 * negative number is one of these. Events carry the same codes in .error. */
enum {
    CQ_OK = 0,
    CQ_E_SHUTDOWN = -1,  /* the queue is shut down: refused, or failed by shutdown */
    CQ_E_CANCELLED = -2, /* the operation was cancelled (cq_alarm_cancel) */
    CQ_E_PROTOCOL = -3,  /* the peer sent malformed RESP */
    CQ_E_TOO_LARGE = -4, /* a frame broke a limit (size, depth, element count) */
    CQ_E_CLOSED = -5,    /* the connection closed before the operation finished */
    CQ_E_INVALID = -6,   /* a bad argument (port out of range, CR/LF in a simple string) */
    CQ_E_RESOLVE = -7,   /* the host name did not resolve */
    CQ_E_NOMEM = -8,     /* out of memory */
    CQ_E_FORKED = -9     /* the queue was created by the parent of this process (fork) */
};

/* A static, human-readable description of a status code (errno included). */
const char *cq_strerror(int code) CQ_NOEXCEPT;

/* ----- RESP values -----------------------------------------------------------
 * A reply (client side), a request's arguments (server side, an array of bulk
 * strings) and a response are all trees of cq_value. Strings are copied in and
 * always followed by a NUL byte that is not counted in len. */
typedef enum {
    CQ_NIL = 0,
    CQ_SIMPLE = 1,  /* +OK */
    CQ_ERROR = 2,   /* -ERR message */
    CQ_INTEGER = 3, /* :42 */
    CQ_BULK = 4,    /* $3 abc (binary safe) */
    CQ_ARRAY = 5    /* *2 ... */
} cq_value_type;

typedef struct cq_value {
    cq_value_type type;
    int64_t integer;        /* CQ_INTEGER */
    char *data;             /* CQ_SIMPLE, CQ_ERROR, CQ_BULK */
    size_t len;             /* bytes in data */
    struct cq_value *items; /* CQ_ARRAY: count values, stored contiguously */
    size_t count;
} cq_value;

cq_value *cq_value_new(void) CQ_NOEXCEPT;         /* a CQ_NIL value, or NULL */
void cq_value_free(cq_value *value) CQ_NOEXCEPT;  /* frees the tree and value itself */
void cq_value_clear(cq_value *value) CQ_NOEXCEPT; /* frees the contents, leaves CQ_NIL */
int cq_value_set_string(cq_value *value, cq_value_type type, const char *data,
                        size_t len) CQ_NOEXCEPT;
void cq_value_set_integer(cq_value *value, int64_t integer) CQ_NOEXCEPT;
int cq_value_set_array(cq_value *value, size_t count) CQ_NOEXCEPT; /* count CQ_NIL items */

/* ----- limits ----------------------------------------------------------------
 * Enforced on every frame read by channels and servers of one queue. A peer
 * that breaks one gets an error (a RESP error reply for a client talking to
 * our server) and its connection closed; other connections are unaffected. */
typedef struct cq_limits {
    size_t max_frame;    /* bytes in one request or reply (default 64 MiB) */
    unsigned max_depth;  /* nesting of arrays in a reply (default 16) */
    size_t max_elements; /* items in one array (default 1M) */
    /* Reply bytes a server connection may hold unsent (default 64 MiB). The server keeps reading
     * from a peer that is slow to read, as redis-server does, so a client that writes a whole
     * pipeline before it reads never deadlocks; a peer whose unread replies pass this bound is
     * disconnected (redis' client-output-buffer-limit). */
    size_t max_output;
} cq_limits;

void cq_limits_default(cq_limits *limits) CQ_NOEXCEPT;

/* The largest max_depth cq_create accepts (CQ_E_INVALID above it, or for a
 * zero limit): parsing and freeing recurse once per level. */
#define CQ_MAX_DEPTH_LIMIT 512

/* ----- time ------------------------------------------------------------------
 * Deadlines are absolute, in nanoseconds of the monotonic clock. */
#define CQ_INFINITE INT64_MAX
int64_t cq_now(void) CQ_NOEXCEPT;

/* ----- the queue ------------------------------------------------------------- */
typedef enum {
    CQ_EVENT_OP = 1,      /* an operation completed: look at tag, ok, error, value */
    CQ_EVENT_TIMEOUT = 2, /* the deadline passed first */
    CQ_EVENT_SHUTDOWN = 3 /* shut down and every operation's event was delivered */
} cq_event_type;

typedef enum {
    CQ_OP_NONE = 0,
    CQ_OP_ALARM = 1,   /* cq_alarm_start */
    CQ_OP_CONNECT = 2, /* cq_channel_create */
    CQ_OP_CALL = 3,    /* cq_channel_call: value is the reply */
    CQ_OP_REQUEST = 4  /* cq_server_request: value is the arguments, call the handle */
} cq_op;

typedef struct cq_event {
    cq_event_type type;
    cq_op op;
    void *tag;
    int ok;          /* 1: success; 0: failed, cancelled or shut down (see error) */
    int error;       /* status code when ok == 0 */
    cq_value *value; /* owned by the receiver: cq_value_free() */
    cq_call *call;   /* owned by the receiver: cq_call_respond() or cq_call_destroy() */
} cq_event;

/* *error: CQ_E_INVALID for a zero limit or max_depth > CQ_MAX_DEPTH_LIMIT,
 * else an errno value from epoll/eventfd. */
cq_queue *cq_create(const cq_limits *limits /* NULL: defaults */, int *error) CQ_NOEXCEPT;

/* A file descriptor that turns readable when cq_next(q, 0) may make progress
 * (a socket is ready, an event is waiting, an alarm was added). An event loop
 * watches it, then calls cq_next(q, 0) until CQ_EVENT_TIMEOUT, and arms a
 * timer for cq_next_alarm(). The epoll fd on Linux; -1 where unsupported.
 * Calling it says an event loop may watch the fd: from then on every new
 * alarm makes it readable (before, only an alarm that must wake a thread
 * asleep in cq_next does). */
int cq_fd(cq_queue *q) CQ_NOEXCEPT;

/* The deadline of the earliest pending alarm or internal timer (a listener
 * retrying accept after EMFILE), or CQ_INFINITE. */
int64_t cq_next_alarm(cq_queue *q) CQ_NOEXCEPT;

/* Wait until an event, the deadline (0: do not block, only drive pending I/O
 * once) or shutdown. Safe from many threads at once: one of them drives the
 * I/O, the others sleep until an event is there for them. */
cq_event cq_next(cq_queue *q, int64_t deadline) CQ_NOEXCEPT;

/* cq_next, then every further event already queued, up to max in all, taken
 * under the same lock: a poller thread hands them on as one batch. Returns how
 * many were stored in out (max >= 1); a TIMEOUT or SHUTDOWN comes alone. */
size_t cq_next_many(cq_queue *q, cq_event *out, size_t max, int64_t deadline) CQ_NOEXCEPT;

/* Like cq_next, but only returns the event of one tag; other events stay in
 * the queue for other threads (gRPC's grpc_completion_queue_pluck). */
cq_event cq_pluck(cq_queue *q, void *tag, int64_t deadline) CQ_NOEXCEPT;

/* From any thread, never blocks on I/O: new operations are refused with
 * CQ_E_SHUTDOWN, every operation in flight completes now with ok=0, and once
 * those events are taken cq_next returns CQ_EVENT_SHUTDOWN. Idempotent. */
void cq_shutdown(cq_queue *q) CQ_NOEXCEPT;

/* Shuts down if needed, then frees the queue and everything it still holds:
 * channels, servers, calls and undelivered events. drop_tag (may be NULL) is
 * called once for the tag of every event that was never delivered, so the
 * owner of the tags can release them. No thread may be inside the queue. */
void cq_destroy(cq_queue *q, void (*drop_tag)(void *tag, void *ctx), void *ctx) CQ_NOEXCEPT;

/* ----- alarms ---------------------------------------------------------------- */
/* Completes with ok=1 at the deadline. *alarm_id identifies it for cancel. */
int cq_alarm_start(cq_queue *q, int64_t deadline, void *tag, uint64_t *alarm_id) CQ_NOEXCEPT;
/* Completes the alarm now with ok=0, error CQ_E_CANCELLED. Returns
 * CQ_E_INVALID when the alarm is no longer pending (already fired). */
int cq_alarm_cancel(cq_queue *q, uint64_t alarm_id) CQ_NOEXCEPT;

/* ----- addresses -------------------------------------------------------------
 * host is a name or numeric address with a TCP port, or "unix:PATH" for a unix
 * domain socket: PATH is a file name (relative to the working directory if not
 * absolute), the port is ignored, and CQ_E_INVALID is returned for an empty
 * PATH or one too long for sockaddr_un (107 bytes on Linux, 103 on macOS).
 * TCP_NODELAY is set on TCP sockets only. */

/* ----- client channels ------------------------------------------------------- */
/* Resolves host (blocks for a name lookup; numeric addresses do not) and starts
 * a non-blocking connect whose result is the CQ_OP_CONNECT event of tag. Calls
 * may be started before it completes; they are sent once connected. A unix
 * socket connects or fails at once (the event still carries the result):
 * ENOENT, ECONNREFUSED (nobody listens), or EAGAIN (its listen backlog is
 * full; nothing was started, so retry later). */
int cq_channel_create(cq_queue *q, const char *host, int port, void *tag,
                      cq_channel **out) CQ_NOEXCEPT;

/* Sends one command (an array of argc bulk strings) and completes with its
 * reply as value. Calls on one channel are pipelined and complete in order. A
 * RESP error reply is ok=1 with a CQ_ERROR value: the call itself worked. */
int cq_channel_call(cq_channel *ch, size_t argc, const char *const *argv, const size_t *lens,
                    void *tag) CQ_NOEXCEPT;

/* Closes the connection; calls still in flight complete with ok=0 CQ_E_CLOSED. */
void cq_channel_destroy(cq_channel *ch) CQ_NOEXCEPT;

/* ----- servers --------------------------------------------------------------- */
enum {
    /* Answer PING and ECHO inside the core, without an event: the fast path that
     * keeps redis-benchmark independent of the application. */
    CQ_SERVER_BUILTINS = 1u << 0
};

/* HELLO [2|3] is always answered by the core, whatever the flags: it sets the
 * protocol of the connection's later replies (RESP3 sends a nil as "_").
 * A peer that shuts down its writing side still gets every reply to what it
 * sent; unsent replies are bounded by cq_limits.max_output, not by pausing
 * reads. See docs/reference/cq.md, "Limits, back-pressure and fork". */

/* Binds and listens (port 0: any free port, see cq_server_port).
 * "unix:PATH" creates the socket file PATH (permissions from the umask). A file
 * already there is replaced only if it is a stale socket: a socket that refuses
 * a connection because nobody listens (a server that died without closing).
 * A live server's socket, or any other file, gives EADDRINUSE. Closing the
 * server (cq_server_destroy, cq_shutdown, cq_destroy) unlinks the file it
 * created, unless another socket has replaced it since; never in a child of
 * fork(), where the file belongs to the parent's listener. */
int cq_server_create(cq_queue *q, const char *host, int port, unsigned flags,
                     cq_server **out) CQ_NOEXCEPT;
/* The TCP port the server listens on; 0 for a unix socket. */
int cq_server_port(cq_server *server) CQ_NOEXCEPT;

/* Asks for the next request: it completes as a CQ_OP_REQUEST event with the
 * command's arguments as value and a call to respond through. Requests that
 * arrive while nobody asked wait inside the server, in order. */
int cq_server_request(cq_server *server, void *tag) CQ_NOEXCEPT;
/* cq_server_request n times with one tag, under one lock (a server that keeps
 * many requests open asks for a batch's worth at once). *opened says how many
 * were opened; the result is that of the first one that failed, else CQ_OK. */
int cq_server_request_many(cq_server *server, void *tag, size_t n, size_t *opened) CQ_NOEXCEPT;

/* Takes a request that already waits in the server, without an event and
 * without waking any thread: CQ_OK with *args and *call set (owned by the
 * caller, as an event's), EAGAIN when none waits. For a caller answering a
 * burst: the requests queued behind the one an event brought. */
int cq_server_take(cq_server *server, cq_value **args, cq_call **call) CQ_NOEXCEPT;

/* cq_server_take for up to max requests under one lock: args[i] and calls[i]
 * for i < *taken (0 when none waits), in arrival order. */
int cq_server_take_many(cq_server *server, cq_value **args, cq_call **calls, size_t max,
                        size_t *taken) CQ_NOEXCEPT;

/* Stops listening and closes every connection; pending requests complete ok=0. */
void cq_server_destroy(cq_server *server) CQ_NOEXCEPT;

/* Sends the response (responses go out in request order on each connection)
 * and frees the call. On CQ_E_INVALID (a value RESP cannot carry) the call is
 * kept; on any other result it is freed. */
int cq_call_respond(cq_call *call, const cq_value *response) CQ_NOEXCEPT;

/* cq_call_respond for n calls of one queue under one lock, writing each
 * connection's responses once (a worker answering the burst it took):
 * results[i] is what cq_call_respond(calls[i], responses[i]) would return.
 * Returns how many calls it freed (every result but CQ_E_INVALID and
 * CQ_E_FORKED). */
size_t cq_call_respond_many(cq_call *const *calls, const cq_value *const *responses, size_t n,
                            int *results) CQ_NOEXCEPT;

/* Hold back the socket writes of cq_call_respond until cq_uncork, so that a
 * caller answering a burst of requests (one wake-up's worth) sends each
 * connection's responses in one write instead of one each. Nested: writes
 * resume when every cq_cork has had its cq_uncork. Any thread; responses stay
 * in order, and the bytes are already queued, so nothing is lost if the
 * connection closes meanwhile. */
void cq_cork(cq_queue *q) CQ_NOEXCEPT;
void cq_uncork(cq_queue *q) CQ_NOEXCEPT;

/* The client side's cork: hold back the socket writes of cq_channel_call until
 * cq_release_calls, so that the calls an event loop starts in one turn (the
 * coroutines one batch of replies woke) leave in one write per connection
 * instead of one each. Nested; any thread; the commands are queued in order,
 * and a connection that closes meanwhile fails its calls as usual. */
void cq_hold_calls(cq_queue *q) CQ_NOEXCEPT;
void cq_release_calls(cq_queue *q) CQ_NOEXCEPT;

/* Frees a call without responding: the peer gets an error reply instead. */
void cq_call_destroy(cq_call *call) CQ_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif /* CQ_CORE_CQ_H */
