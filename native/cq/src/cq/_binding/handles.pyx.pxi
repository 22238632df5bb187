# The handles a queue's factories return: alarms, channels, servers, server calls.

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
