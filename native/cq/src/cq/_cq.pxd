# _cq.pxd: the core's C API (src/core/cq.h) as Cython sees it. Every function
# that can block or take the core's lock is declared nogil, so the binding can
# call it with the GIL released.
from libc.stdint cimport int64_t, uint64_t

cdef extern from "cq.h" nogil:
    ctypedef struct cq_queue:
        pass
    ctypedef struct cq_channel:
        pass
    ctypedef struct cq_server:
        pass
    ctypedef struct cq_call:
        pass

    enum:
        CQ_OK
        CQ_E_SHUTDOWN
        CQ_E_CANCELLED
        CQ_E_PROTOCOL
        CQ_E_TOO_LARGE
        CQ_E_CLOSED
        CQ_E_INVALID
        CQ_E_RESOLVE
        CQ_E_NOMEM

    const char *cq_strerror(int code)

    ctypedef enum cq_value_type:
        CQ_NIL
        CQ_SIMPLE
        CQ_ERROR
        CQ_INTEGER
        CQ_BULK
        CQ_ARRAY

    ctypedef struct cq_value:
        cq_value_type type
        int64_t integer
        char *data
        size_t len
        cq_value *items
        size_t count

    cq_value *cq_value_new()
    void cq_value_free(cq_value *value)
    void cq_value_clear(cq_value *value)
    int cq_value_set_string(cq_value *value, cq_value_type type, const char *data, size_t len)
    void cq_value_set_integer(cq_value *value, int64_t integer)
    int cq_value_set_array(cq_value *value, size_t count)

    ctypedef struct cq_limits:
        size_t max_frame
        unsigned max_depth
        size_t max_elements

    void cq_limits_default(cq_limits *limits)
    unsigned CQ_MAX_DEPTH_LIMIT

    int64_t CQ_INFINITE
    int64_t cq_now()

    ctypedef enum cq_event_type:
        CQ_EVENT_OP
        CQ_EVENT_TIMEOUT
        CQ_EVENT_SHUTDOWN

    ctypedef enum cq_op:
        CQ_OP_NONE
        CQ_OP_ALARM
        CQ_OP_CONNECT
        CQ_OP_CALL
        CQ_OP_REQUEST

    ctypedef struct cq_event:
        cq_event_type type
        cq_op op
        void *tag
        int ok
        int error
        cq_value *value
        cq_call *call

    ctypedef void (*cq_drop_fn)(void *tag, void *ctx) noexcept

    cq_queue *cq_create(const cq_limits *limits, int *error)
    int cq_fd(cq_queue *q)
    int64_t cq_next_alarm(cq_queue *q)
    cq_event cq_next(cq_queue *q, int64_t deadline)
    size_t cq_next_many(cq_queue *q, cq_event *out, size_t max, int64_t deadline)
    cq_event cq_pluck(cq_queue *q, void *tag, int64_t deadline)
    void cq_shutdown(cq_queue *q)
    void cq_cork(cq_queue *q)
    void cq_hold_calls(cq_queue *q)
    void cq_release_calls(cq_queue *q)
    void cq_uncork(cq_queue *q)
    void cq_destroy(cq_queue *q, cq_drop_fn drop_tag, void *ctx)

    int cq_alarm_start(cq_queue *q, int64_t deadline, void *tag, uint64_t *alarm_id)
    int cq_alarm_cancel(cq_queue *q, uint64_t alarm_id)

    int cq_channel_create(cq_queue *q, const char *host, int port, void *tag, cq_channel **out)
    int cq_channel_call(cq_channel *ch, size_t argc, const char *const *argv, const size_t *lens,
                        void *tag)
    void cq_channel_destroy(cq_channel *ch)

    enum:
        CQ_SERVER_BUILTINS

    int cq_server_create(cq_queue *q, const char *host, int port, unsigned flags, cq_server **out)
    int cq_server_port(cq_server *server)
    int cq_server_request(cq_server *server, void *tag)
    int cq_server_take(cq_server *server, cq_value **args, cq_call **call)
    int cq_server_take_many(cq_server *server, cq_value **args, cq_call **calls, size_t max,
                            size_t *taken)
    void cq_server_destroy(cq_server *server)
    size_t cq_call_respond_many(cq_call **calls, const cq_value **responses, size_t n,
                                int *results)
    void cq_call_destroy(cq_call *call)


cdef extern from "spinner.h" nogil:
    int64_t CQ_SPIN_DEFAULT_NS
    int64_t CQ_SPIN_MAX_NS
    ctypedef struct cq_spinner:
        pass
    ctypedef struct cq_spin_stats:
        uint64_t parks
        uint64_t spin_hits
        uint64_t spin_misses
    int cq_spinner_new(int64_t spin_ns, cq_spinner **out)
    void cq_spinner_free(cq_spinner *s)
    size_t cq_next_many_spinning(cq_queue *q, cq_event *out, size_t max, int64_t deadline,
                                 cq_spinner *s)
    void cq_spinner_stats(const cq_spinner *s, cq_spin_stats *out)
