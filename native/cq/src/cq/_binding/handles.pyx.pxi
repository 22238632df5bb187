# The handles a queue's factories return: alarms, channels, servers, server
# calls. Their lifecycle (construction, liveness, close, collection) is
# NativeHandle's; each says only what its native object is and how it is freed.

cdef extern from "cq.h" nogil:
    # Declared here rather than in _cq.pxd: only Server.request uses it.
    int cq_server_request_many(cq_server *server, void *tag, size_t n, size_t *opened)


@cython.no_gc_clear
cdef class Alarm(NativeHandle):
    """A pending alarm; cancel() completes it now with ok=False."""

    cdef uint64_t _id

    _factory = "CompletionQueue.alarm()"

    cdef bint _native_open(self):
        return self._cq is not None  # the core frees an alarm when it fires

    cdef str _dead_message(self):
        return "the completion queue is closed"

    def cancel(self):
        """Returns True if the alarm was pending (its event now says cancelled)."""
        cdef int rc
        self._enter()
        try:
            with nogil:
                rc = cq_alarm_cancel(self._cq._q, self._id)
        finally:
            self._leave()
        return rc == CQ_OK


@cython.no_gc_clear
cdef class Channel(NativeHandle):
    """One client connection; calls on it are pipelined and complete in order."""

    cdef cq_channel *_ch

    _factory = "CompletionQueue.connect()"
    _warn_unclosed = True

    cdef bint _native_open(self):
        return self._ch != NULL

    cdef str _dead_message(self):
        return "the channel is closed"

    cdef int _native_free(self) except -1:
        if not self._cq._closed:  # a closing queue frees it in cq_destroy
            self._cq._enter()
            try:
                with nogil:
                    cq_channel_destroy(self._ch)
            finally:
                self._cq._leave()
        self._ch = NULL
        return 0

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
        self._ensure_alive()
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
            self._enter()
            Py_INCREF(tag)
            try:
                with nogil:
                    rc = cq_channel_call(self._ch, n, argv, lens, <void *>tag)
                if rc != CQ_OK:
                    Py_DECREF(tag)
                    raise error_for(rc)
            finally:
                self._leave()
        finally:
            free(argv)
            free(lens)

    def close(self):
        """Close the connection; calls in flight complete with ok=False. Waits
        for a call() another thread is making on it. Idempotent."""
        self._close()

    def __dealloc__(self):
        # Normally freed by close() or __del__ already.
        if self._ch != NULL and self._cq is not None and self._cq._native_open():
            cq_channel_destroy(self._ch)
        self._ch = NULL


@cython.no_gc_clear
cdef class Server(NativeHandle):
    """A listening socket; request() asks for the next command that arrives."""

    cdef cq_server *_server
    cdef object _path  # str: the unix socket's path; None for TCP

    _factory = "CompletionQueue.serve()"
    _warn_unclosed = True

    cdef bint _native_open(self):
        return self._server != NULL

    cdef str _dead_message(self):
        return "the server is closed"

    cdef int _native_free(self) except -1:
        if not self._cq._closed:  # a closing queue frees it in cq_destroy
            self._cq._enter()
            try:
                with nogil:
                    cq_server_destroy(self._server)
            finally:
                self._cq._leave()
        self._server = NULL
        return 0

    @property
    def port(self):
        """The TCP port it listens on; 0 for a unix socket."""
        self._ensure_alive()
        return cq_server_port(self._server)

    @property
    def path(self):
        """The path of the unix socket it listens on (as given after "unix:"),
        or None for TCP. Known after close() too: the file is gone by then."""
        return self._path

    def request(self, tag, count=1):
        """The next command completes a REQUEST event of ``tag``: its value is the
        list of arguments (bytes), its call the ServerCall to respond through.

        ``count`` opens that many requests of the same tag in one call (a
        server keeping many open asks for a wake-up's worth at once). Returns
        how many were opened: fewer than ``count`` only if the server closed
        (or memory ran out) on the way; raises if none could be."""
        cdef Py_ssize_t n = PyNumber_Index(count)
        cdef Py_ssize_t opened = 0
        cdef size_t got = 0
        cdef Py_ssize_t i
        cdef int rc = CQ_OK
        if n < 1:
            raise ValueError(f"count must be at least 1, not {n}")
        self._enter()
        try:
            for i in range(n):  # one reference per open request, given back with its event
                Py_INCREF(tag)
            with nogil:  # one lock for all of them
                rc = cq_server_request_many(self._server, <void *>tag, <size_t>n, &got)
            opened = <Py_ssize_t>got
            for i in range(n - opened):
                Py_DECREF(tag)
        finally:
            self._leave()
        if opened == 0:
            raise error_for(rc)
        return opened

    def take(self):
        """A request already waiting in the server, taken without an event or
        a thread's wake-up: ``(args, call)``, or None if none is waiting. For
        the caller answering a burst: the requests queued behind the one an
        event brought."""
        taken = self.take_many(1)
        return taken[0] if taken else None

    def take_many(self, max_count):
        """take() for up to ``max_count`` requests under one lock: a list of
        ``(args, call)`` in arrival order, empty if none is waiting."""
        cdef Py_ssize_t n = PyNumber_Index(max_count)
        cdef size_t got = 0
        cdef size_t i, done = 0
        cdef int rc
        cdef cq_value **args = NULL
        cdef cq_call **calls = NULL
        cdef ServerCall call
        if n < 0:
            raise ValueError(f"max_count must not be negative, not {n}")
        if n == 0:
            self._ensure_alive()
            return []
        args = <cq_value **>malloc(n * sizeof(cq_value *))
        calls = <cq_call **>malloc(n * sizeof(cq_call *))
        if args == NULL or calls == NULL:
            free(args)
            free(calls)
            raise MemoryError()
        taken = []
        try:
            self._enter()
            try:
                with nogil:
                    rc = cq_server_take_many(self._server, args, calls, <size_t>n, &got)
            finally:
                self._leave()
            if rc != CQ_OK:
                raise error_for(rc)
            # Every call is owned by a ServerCall first: one that cannot be
            # built into the list is still answered (an error reply) when freed.
            owners = []
            for i in range(got):
                call = ServerCall.__new__(ServerCall)
                call._call = calls[i]
                call._cq = self._cq
                owners.append(call)
            for i in range(got):
                value = value_to_py(args[i])
                cq_value_free(args[i])
                done = i + 1
                taken.append((value, owners[i]))
        finally:
            for i in range(done, got):
                cq_value_free(args[i])
            free(args)
            free(calls)
        return taken

    def close(self):
        """Stop listening and close every connection. Idempotent."""
        self._close()

    def __dealloc__(self):
        if self._server != NULL and self._cq is not None and self._cq._native_open():
            cq_server_destroy(self._server)
        self._server = NULL


@cython.no_gc_clear
cdef class ServerCall(NativeHandle):
    """One received command, answered exactly once with respond()."""

    cdef cq_call *_call

    _factory = "the call of a REQUEST event (Event.call)"

    cdef bint _native_open(self):
        return self._call != NULL

    cdef str _dead_message(self):
        if self._cq is not None and self._cq._closed:
            return "the completion queue is closed"
        return "this call was already answered"

    cdef int _native_free(self) except -1:
        # Never answered: the core sends the client an error reply instead.
        cdef cq_call *call = self._call
        self._call = NULL
        if not self._cq._closed:
            self._cq._enter()
            try:
                with nogil:
                    cq_call_destroy(call)
            finally:
                self._cq._leave()
        return 0

    def respond(self, value):
        """Send the response: str -> simple string, bytes -> bulk string, int ->
        integer, None -> nil, list/tuple -> array, an exception -> error reply.
        Raises ClosedError if the client is gone."""
        error = respond_many((self,), (value,))[0]
        if error is not None:
            raise error

    def __dealloc__(self):
        if self._call != NULL and self._cq is not None and self._cq._native_open():
            cq_call_destroy(self._call)
        self._call = NULL


def respond_many(calls, values):
    """Answer ``calls[i]`` with ``values[i]`` for every i, under one lock,
    writing each connection's responses once instead of once each: how a
    worker answers the burst of requests it took. The calls are ServerCalls
    of one completion queue.

    Returns a list with one entry per call: None if it was answered, else
    the exception ``respond()`` would have raised. After a ValueError,
    TypeError or OverflowError (a value RESP cannot carry) the call is still
    answerable."""
    cdef list call_list = list(calls)
    cdef list value_list = list(values)
    cdef Py_ssize_t n = len(call_list)
    cdef Py_ssize_t i, k = 0
    cdef CompletionQueue queue = None
    cdef ServerCall call
    cdef list taken = []            # the ServerCalls handed to the core, in order
    cdef cq_call **natives = NULL
    cdef const cq_value **responses = NULL
    cdef int *results = NULL
    cdef cq_value *v
    cdef bint handed = False
    if len(value_list) != n:
        raise ValueError(f"{n} calls but {len(value_list)} values")
    errors = [None] * n
    for i in range(n):
        if not isinstance(call_list[i], ServerCall):
            raise TypeError(f"calls must be ServerCall objects, not {type(call_list[i]).__name__}")
        call = call_list[i]
        if queue is None:
            queue = call._cq
        elif call._cq is not queue:
            raise ValueError("the calls belong to different completion queues")
    if n == 0:
        return errors
    natives = <cq_call **>malloc(n * sizeof(cq_call *))
    responses = <const cq_value **>malloc(n * sizeof(cq_value *))
    results = <int *>malloc(n * sizeof(int))
    if natives == NULL or responses == NULL or results == NULL:
        free(natives)
        free(<void *>responses)
        free(results)
        raise MemoryError()
    try:
        for i in range(n):
            call = call_list[i]
            if not call._alive():  # answered already (or listed twice), or closed
                errors[i] = RuntimeError(call._dead_message())
                continue
            v = cq_value_new()
            if v == NULL:
                raise MemoryError()
            try:
                py_to_value(value_list[i], v, 0)
            except (TypeError, ValueError, OverflowError) as exc:
                cq_value_free(v)
                errors[i] = exc
                continue
            except BaseException:
                cq_value_free(v)
                raise
            # Taken under the GIL, as respond() does: a second answer finds NULL.
            natives[k] = call._call
            responses[k] = v
            call._call = NULL
            taken.append(i)
            k += 1
        if k:
            queue._enter()
            try:
                with nogil:
                    cq_call_respond_many(natives, responses, <size_t>k, results)
                handed = True
            finally:
                queue._leave()
            for i in range(k):
                call = call_list[taken[i]]
                if results[i] == CQ_E_INVALID:
                    call._call = natives[i]  # the core kept it: still answerable
                    errors[taken[i]] = ValueError("the response cannot be encoded as RESP")
                elif results[i] != CQ_OK:
                    errors[taken[i]] = error_for(results[i])
    except BaseException:
        if not handed:  # nothing reached the core: every call is still answerable
            for i in range(k):
                (<ServerCall>call_list[taken[i]])._call = natives[i]
        raise
    finally:
        for i in range(k):
            cq_value_free(<cq_value *>responses[i])
        free(natives)
        free(<void *>responses)
        free(results)
    return errors
