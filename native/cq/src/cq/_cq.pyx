# cython: language_level=3
"""The Cython binding of the completion-queue core (src/core/cq.h).

Ownership of tags: starting an operation takes a reference to its tag
(Py_INCREF) and hands the core a plain pointer; the reference is given back
when the event is delivered by next()/pluck(), or when the queue is destroyed
with the event undelivered. The core never touches a Python object, so every
call into it runs with the GIL released.
"""

import math
import os
import socket
import time

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport Py_DECREF, Py_INCREF
from libc.stdint cimport INT64_MAX, int64_t, uint64_t
from libc.stdlib cimport free, malloc

# Event types (CompletionQueue.next() results).
OP = CQ_EVENT_OP
TIMEOUT = CQ_EVENT_TIMEOUT
SHUTDOWN = CQ_EVENT_SHUTDOWN

# Operation kinds (Event.op).
ALARM = CQ_OP_ALARM
CONNECT = CQ_OP_CONNECT
CALL = CQ_OP_CALL
REQUEST = CQ_OP_REQUEST

# Core status codes (Event.error when it is negative; positive ones are errno).
E_SHUTDOWN = CQ_E_SHUTDOWN
E_CANCELLED = CQ_E_CANCELLED
E_PROTOCOL = CQ_E_PROTOCOL
E_TOO_LARGE = CQ_E_TOO_LARGE
E_CLOSED = CQ_E_CLOSED
E_INVALID = CQ_E_INVALID
E_RESOLVE = CQ_E_RESOLVE
E_NOMEM = CQ_E_NOMEM

# Deepest response a server handler may return (a cycle would never end).
cdef int MAX_RESPONSE_DEPTH = 32

# The longest a blocking next()/pluck() stays inside the core before it comes
# back, with the GIL, to run signal handlers: a wait without deadline must
# still let Ctrl-C through (Python's C-level handler only sets a flag).
cdef int64_t SIGNAL_CHECK_NS = 50 * 1000 * 1000


class ReplyError(Exception):
    """A RESP error reply (``-ERR ...``): the call worked, the command failed."""


class ProtocolError(ValueError):
    """The peer broke RESP or one of the queue's limits; the connection is closed."""


class CancelledError(Exception):
    """The operation was cancelled before it completed (an alarm's cancel())."""


class ClosedError(ConnectionError):
    """The connection closed before the operation completed."""


def error_for(int code):
    """The Python exception for a core status code (see ``cq.h``)."""
    cdef str message = cq_strerror(code).decode("utf-8", "replace")
    if code > 0:
        return OSError(code, os.strerror(code))
    if code == CQ_E_PROTOCOL or code == CQ_E_TOO_LARGE:
        return ProtocolError(message)
    if code == CQ_E_SHUTDOWN:
        return RuntimeError(message)
    if code == CQ_E_CLOSED:
        return ClosedError(message)
    if code == CQ_E_CANCELLED:
        return CancelledError(message)
    if code == CQ_E_RESOLVE:
        return socket.gaierror(socket.EAI_NONAME, message)
    if code == CQ_E_NOMEM:
        return MemoryError(message)
    if code == CQ_E_INVALID:
        return ValueError(message)
    return RuntimeError(message)


cdef int check(int code) except -1:
    if code != CQ_OK:
        raise error_for(code)
    return 0


cdef int64_t deadline_for(object timeout) except? -1:
    """Seconds from now (None: forever, 0: poll) as the core's absolute deadline."""
    if timeout is None:
        return CQ_INFINITE
    cdef double seconds = timeout
    if math.isnan(seconds):
        raise ValueError("timeout must not be NaN")
    if seconds < 0:
        raise ValueError("timeout must be non-negative")  # as time.sleep() says
    if seconds == 0:
        return 0
    if seconds > 1e9:  # beyond 30 years: forever, and no int64 overflow
        return CQ_INFINITE
    return cq_now() + <int64_t>(seconds * 1e9)


cdef object value_to_py(const cq_value *v):
    if v.type == CQ_NIL:
        return None
    if v.type == CQ_SIMPLE:
        return v.data[:v.len].decode("utf-8", "replace")
    if v.type == CQ_ERROR:
        return ReplyError(v.data[:v.len].decode("utf-8", "replace"))
    if v.type == CQ_INTEGER:
        return v.integer
    if v.type == CQ_BULK:
        return PyBytes_FromStringAndSize(v.data, v.len)
    cdef list items = []
    cdef size_t i
    for i in range(v.count):
        items.append(value_to_py(&v.items[i]))
    return items


cdef int py_to_value(object obj, cq_value *v, int depth) except -1:
    """Fill v from a handler's return value: str -> simple string, bytes ->
    bulk string, int -> integer, None -> nil, list/tuple -> array,
    an exception -> error reply."""
    cdef bytes data
    cdef Py_ssize_t i, n
    if depth > MAX_RESPONSE_DEPTH:
        raise ValueError(f"response nested deeper than {MAX_RESPONSE_DEPTH} arrays")
    if obj is None:
        cq_value_clear(v)
    elif isinstance(obj, BaseException):
        data = str(obj).encode("utf-8")
        if b"\r" in data or b"\n" in data:
            raise ValueError("an error reply cannot contain CR or LF")
        check(cq_value_set_string(v, CQ_ERROR, data, len(data)))
    elif isinstance(obj, str):
        data = (<str>obj).encode("utf-8")
        if b"\r" in data or b"\n" in data:
            raise ValueError("a simple string cannot contain CR or LF; return bytes for a bulk string")
        check(cq_value_set_string(v, CQ_SIMPLE, data, len(data)))
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
        check(cq_value_set_string(v, CQ_BULK, data, len(data)))
    elif isinstance(obj, int):
        cq_value_set_integer(v, obj)  # OverflowError outside int64, as CPython does
    elif isinstance(obj, (list, tuple)):
        n = len(obj)
        check(cq_value_set_array(v, n))
        for i in range(n):
            py_to_value(obj[i], &v.items[i], depth + 1)
    else:
        raise TypeError(
            f"cannot send {type(obj).__name__!r} as RESP: "
            "use str, bytes, int, None, list, tuple or an exception")
    return 0


cdef bytes host_arg(object host):
    """A host name for the core: str or bytes, without the NUL that would cut
    the C string short (CPython refuses those too)."""
    cdef bytes data
    if isinstance(host, str):
        data = (<str>host).encode("utf-8")
    elif isinstance(host, bytes):
        data = host
    else:
        raise TypeError(f"host must be str or bytes, not {type(host).__name__!r}")
    if b"\0" in data:
        raise ValueError("host contains an embedded null byte")
    return data


cdef int check_port(int port) except -1:
    if port < 0 or port > 65535:
        raise ValueError(f"port must be 0-65535, not {port}")
    return 0


cdef bytes as_arg(object arg):
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return (<str>arg).encode("utf-8")
    if isinstance(arg, (bytearray, memoryview)):
        return bytes(arg)  # a copy: the GIL is released while the core reads it
    if isinstance(arg, (int, float)) and not isinstance(arg, bool):
        return repr(arg).encode("ascii")
    raise TypeError(f"a command argument must be str, bytes or a number, not {type(arg).__name__!r}")


cdef void drop_tag(void *tag, void *ctx) noexcept nogil:
    # Called by cq_destroy for each undelivered event. The binding calls
    # cq_destroy with the GIL held; "with gil" makes that a cheap re-entry and
    # keeps the callback correct if the core ever calls it from elsewhere.
    with gil:
        Py_DECREF(<object>tag)


cdef class Event:
    """One completion: ``type`` (OP, TIMEOUT or SHUTDOWN), and for OP the
    operation kind ``op``, its ``tag``, ``ok``, the ``error`` code when not ok,
    the ``value`` (a reply, or a request's arguments) and, for a request, the
    ``call`` to respond through."""

    # Attributes (type, op, tag, ok, error, value, call) are declared in
    # _cq.pxd, so that cq._aio can build and read events too.

    def exception(self):
        """The exception that describes a failed operation, or None."""
        if self.type != OP or self.ok:
            return None
        return error_for(self.error)

    def __repr__(self):
        if self.type == TIMEOUT:
            return "<Event TIMEOUT>"
        if self.type == SHUTDOWN:
            return "<Event SHUTDOWN>"
        return f"<Event op={self.op} tag={self.tag!r} ok={self.ok} error={self.error}>"


cdef class CompletionQueue:
    """A completion queue: start operations with a tag, collect their events.

    next() and pluck() block with the GIL released and drive the socket I/O
    themselves; operations may be started from any thread.
    """

    # Attributes (_q, _busy, _closed) are declared in _cq.pxd, so that
    # cq._aio's poller thread can drive the same queue.

    def __cinit__(self, *, max_frame=None, max_depth=None, max_elements=None):
        cdef cq_limits limits
        cdef int err = 0
        cq_limits_default(&limits)
        if max_frame is not None:
            if max_frame <= 0:
                raise ValueError("max_frame must be positive")
            limits.max_frame = max_frame
        if max_depth is not None:
            if max_depth <= 0 or max_depth > CQ_MAX_DEPTH_LIMIT:
                raise ValueError(f"max_depth must be 1-{CQ_MAX_DEPTH_LIMIT}, not {max_depth}")
            limits.max_depth = max_depth
        if max_elements is not None:
            if max_elements <= 0:
                raise ValueError("max_elements must be positive")
            limits.max_elements = max_elements
        self._q = cq_create(&limits, &err)
        if self._q == NULL:
            raise error_for(err)

    def __dealloc__(self):
        # No thread can be inside: each one holds a reference to self.
        if self._q != NULL:
            cq_destroy(self._q, drop_tag, NULL)
            self._q = NULL

    cdef int _enter(self) except -1:
        if self._closed:
            raise RuntimeError("the completion queue is closed")
        self._busy += 1
        return 0

    cdef void _leave(self) noexcept:
        self._busy -= 1

    cdef Event _deliver(self, cq_event ev):
        cdef Event event = Event.__new__(Event)
        cdef ServerCall call
        event.type = ev.type
        event.op = ev.op
        event.ok = ev.ok
        event.error = ev.error
        if ev.type != CQ_EVENT_OP:
            return event
        tag = <object>ev.tag
        Py_DECREF(tag)  # the reference taken when the operation started
        event.tag = tag
        if ev.call != NULL:
            call = ServerCall.__new__(ServerCall)
            call._call = ev.call
            call._cq = self
            event.call = call
        if ev.value != NULL:
            try:
                event.value = value_to_py(ev.value)
            finally:
                cq_value_free(ev.value)
        return event

    cdef Event _wait(self, bint any_tag, void *tag, int64_t deadline):
        """next()/pluck() in slices of at most SIGNAL_CHECK_NS, checking for
        signals between them. Each slice is entered and left on its own, so a
        signal handler may even close the queue (the wait then says SHUTDOWN)."""
        cdef cq_event ev
        cdef int64_t until
        cdef Event shutdown
        while True:
            self._enter()
            try:
                with nogil:
                    until = cq_now() + SIGNAL_CHECK_NS
                    if deadline < until:
                        until = deadline
                    if any_tag:
                        ev = cq_next(self._q, until)
                    else:
                        ev = cq_pluck(self._q, tag, until)
            finally:
                self._leave()
            if ev.type != CQ_EVENT_TIMEOUT or until == deadline:
                return self._deliver(ev)
            PyErr_CheckSignals()  # KeyboardInterrupt and friends raise here
            if self._closed:  # by a signal handler, or another thread meanwhile
                shutdown = Event.__new__(Event)
                shutdown.type = CQ_EVENT_SHUTDOWN
                return shutdown

    def next(self, timeout=None):
        """Wait for the next event, at most ``timeout`` seconds (None: forever,
        0: do not block). Returns an Event; TIMEOUT and SHUTDOWN carry no tag.
        The GIL is released while waiting; Ctrl-C interrupts the wait."""
        return self._wait(True, NULL, deadline_for(timeout))

    def pluck(self, tag, timeout=None):
        """Like next(), but only for the event of ``tag`` (compared by identity)."""
        return self._wait(False, <void *>tag, deadline_for(timeout))

    def fileno(self):
        """A fd that turns readable when next(0) may make progress (Linux)."""
        self._enter()
        try:
            return cq_fd(self._q)
        finally:
            self._leave()

    def next_alarm(self):
        """Seconds until the earliest alarm (0 if due), or None if there is none."""
        cdef int64_t deadline
        self._enter()
        try:
            with nogil:
                deadline = cq_next_alarm(self._q)
        finally:
            self._leave()
        if deadline == CQ_INFINITE:
            return None
        return max(0.0, (deadline - cq_now()) / 1e9)

    def alarm(self, timeout, tag):
        """Start an alarm that completes with ok=True after ``timeout`` seconds."""
        cdef int64_t deadline = deadline_for(timeout)
        cdef uint64_t alarm_id = 0
        cdef int rc
        cdef Alarm alarm = Alarm.__new__(Alarm)
        self._enter()
        Py_INCREF(tag)
        try:
            with nogil:
                rc = cq_alarm_start(self._q, deadline, <void *>tag, &alarm_id)
            if rc != CQ_OK:
                Py_DECREF(tag)
                raise error_for(rc)
        finally:
            self._leave()
        alarm._cq = self
        alarm._id = alarm_id
        return alarm

    def connect(self, host, int port, tag):
        """Open a client connection; its CONNECT event carries ``tag``. Calls may
        be started at once: they are sent when the connection is up."""
        cdef bytes host_b = host_arg(host)
        cdef const char *c_host = host_b
        cdef cq_channel *ch = NULL
        cdef int rc
        cdef Channel channel = Channel.__new__(Channel)
        check_port(port)
        self._enter()
        Py_INCREF(tag)
        try:
            with nogil:  # may block in a name lookup
                rc = cq_channel_create(self._q, c_host, port, <void *>tag, &ch)
            if rc != CQ_OK:
                Py_DECREF(tag)
                raise error_for(rc)
        finally:
            self._leave()
        channel._ch = ch
        channel._cq = self
        return channel

    def serve(self, host="127.0.0.1", int port=0, *, bint builtins=True):
        """Listen on host:port (0: any free port). With ``builtins`` the core
        answers PING and ECHO itself; every other command is a request."""
        cdef bytes host_b = host_arg(host)
        cdef const char *c_host = host_b
        cdef cq_server *server = NULL
        cdef unsigned flags = CQ_SERVER_BUILTINS if builtins else 0
        cdef int rc
        cdef Server result = Server.__new__(Server)
        check_port(port)
        self._enter()
        try:
            with nogil:
                rc = cq_server_create(self._q, c_host, port, flags, &server)
            check(rc)
        finally:
            self._leave()
        result._server = server
        result._cq = self
        return result

    def shutdown(self):
        """Refuse new operations and complete every one in flight with ok=False;
        next() then returns SHUTDOWN once they are collected. Any thread."""
        self._enter()
        try:
            with nogil:
                cq_shutdown(self._q)
        finally:
            self._leave()

    def close(self):
        """Shut down, wait until no thread is inside the queue, then free it and
        every handle made from it, releasing the tags of undelivered events."""
        if self._closed:
            return
        self._closed = True
        with nogil:
            cq_shutdown(self._q)
        while self._busy:
            time.sleep(0.001)  # releases the GIL: the threads inside return SHUTDOWN
        cq_destroy(self._q, drop_tag, NULL)
        self._q = NULL

    @property
    def closed(self):
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


@cython.no_gc_clear
cdef class Alarm:
    """A pending alarm; cancel() completes it now with ok=False."""

    cdef CompletionQueue _cq
    cdef uint64_t _id

    def cancel(self):
        """Returns True if the alarm was pending (its event now says cancelled)."""
        cdef int rc
        self._cq._enter()
        try:
            with nogil:
                rc = cq_alarm_cancel(self._cq._q, self._id)
        finally:
            self._cq._leave()
        return rc == CQ_OK


@cython.no_gc_clear
cdef class Channel:
    """One client connection; calls on it are pipelined and complete in order."""

    cdef cq_channel *_ch
    cdef CompletionQueue _cq
    cdef int _users     # threads inside cq_channel_call (counted under the GIL)
    cdef bint _closing

    def call(self, args, tag):
        """Send one command (a sequence of str/bytes/numbers); its reply is the
        value of the CALL event of ``tag``."""
        if isinstance(args, (str, bytes, bytearray, memoryview)):
            raise TypeError("args must be a sequence of arguments such as ['ECHO', 'hi'], "
                            f"not {type(args).__name__!r}")
        cdef list parts = [as_arg(a) for a in args]
        cdef size_t n = len(parts)
        cdef size_t i
        cdef int rc
        if n == 0:
            raise ValueError("a command needs at least one argument")
        if self._ch == NULL or self._closing:
            raise RuntimeError("the channel is closed")
        cdef const char **argv = <const char **>malloc(n * sizeof(char *))
        cdef size_t *lens = <size_t *>malloc(n * sizeof(size_t))
        if argv == NULL or lens == NULL:
            free(argv)
            free(lens)
            raise MemoryError()
        for i in range(n):
            argv[i] = PyBytes_AS_STRING(parts[i])
            lens[i] = PyBytes_GET_SIZE(parts[i])
        try:
            self._cq._enter()
            Py_INCREF(tag)
            self._users += 1
            try:
                with nogil:
                    rc = cq_channel_call(self._ch, n, argv, lens, <void *>tag)
                if rc != CQ_OK:
                    Py_DECREF(tag)
                    raise error_for(rc)
            finally:
                self._users -= 1
                self._cq._leave()
        finally:
            free(argv)
            free(lens)

    def close(self):
        """Close the connection; calls in flight complete with ok=False."""
        if self._ch == NULL or self._closing:
            return
        self._closing = True
        while self._users:
            time.sleep(0.001)  # a call() in another thread is still inside the core
        if not self._cq._closed:
            self._cq._enter()
            try:
                with nogil:
                    cq_channel_destroy(self._ch)
            finally:
                self._cq._leave()
        self._ch = NULL  # after the queue's close() the handle is already freed

    def __dealloc__(self):
        if self._ch != NULL and self._cq is not None and not self._cq._closed:
            cq_channel_destroy(self._ch)
        self._ch = NULL


@cython.no_gc_clear
cdef class Server:
    """A listening socket; request() asks for the next command that arrives."""

    cdef cq_server *_server
    cdef CompletionQueue _cq
    cdef int _users     # threads inside cq_server_request (counted under the GIL)
    cdef bint _closing

    @property
    def port(self):
        if self._server == NULL or self._closing or self._cq._closed:
            raise RuntimeError("the server is closed")
        return cq_server_port(self._server)

    def request(self, tag):
        """The next command completes a REQUEST event of ``tag``: its value is the
        list of arguments (bytes), its call the ServerCall to respond through."""
        cdef int rc
        if self._server == NULL or self._closing:
            raise RuntimeError("the server is closed")
        self._cq._enter()
        Py_INCREF(tag)
        self._users += 1
        try:
            with nogil:
                rc = cq_server_request(self._server, <void *>tag)
            if rc != CQ_OK:
                Py_DECREF(tag)
                raise error_for(rc)
        finally:
            self._users -= 1
            self._cq._leave()

    def close(self):
        """Stop listening and close every connection."""
        if self._server == NULL or self._closing:
            return
        self._closing = True
        while self._users:
            time.sleep(0.001)  # a request() in another thread is still inside the core
        if not self._cq._closed:
            self._cq._enter()
            try:
                with nogil:
                    cq_server_destroy(self._server)
            finally:
                self._cq._leave()
        self._server = NULL  # after the queue's close() the handle is already freed

    def __dealloc__(self):
        if self._server != NULL and self._cq is not None and not self._cq._closed:
            cq_server_destroy(self._server)
        self._server = NULL


@cython.no_gc_clear
cdef class ServerCall:
    """One received command, answered exactly once with respond()."""

    cdef cq_call *_call
    cdef CompletionQueue _cq

    def respond(self, value):
        """Send the response: str -> simple string, bytes -> bulk string, int ->
        integer, None -> nil, list/tuple -> array, an exception -> error reply.
        Raises ClosedError if the client is gone."""
        cdef cq_value *v
        cdef cq_call *call
        cdef int rc
        if self._call == NULL:
            raise RuntimeError("this call was already answered")
        v = cq_value_new()
        if v == NULL:
            raise MemoryError()
        try:
            py_to_value(value, v, 0)
            self._cq._enter()
            # Taken while the GIL is held: a second respond() from another
            # thread finds NULL instead of freeing the call twice.
            call = self._call
            self._call = NULL
            try:
                with nogil:
                    rc = cq_call_respond(call, v)
            finally:
                self._cq._leave()
        finally:
            cq_value_free(v)
        if rc == CQ_E_INVALID:
            self._call = call  # the core kept it: still answerable
            raise ValueError("the response cannot be encoded as RESP")
        if rc != CQ_OK:
            raise error_for(rc)

    def __dealloc__(self):
        # Never answered: the core sends the client an error reply instead.
        if self._call != NULL and self._cq is not None and not self._cq._closed:
            cq_call_destroy(self._call)
        self._call = NULL
