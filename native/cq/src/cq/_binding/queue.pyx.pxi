# The completion queue and the events it hands out.

# The longest a blocking next()/pluck() stays inside the core before it comes
# back, with the GIL, to run signal handlers: a wait without deadline must
# still let Ctrl-C through (Python's C-level handler only sets a flag).
cdef int64_t SIGNAL_CHECK_NS = 50 * 1000 * 1000

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

    cdef readonly int type
    cdef readonly int op
    cdef readonly object tag
    cdef readonly bint ok
    cdef readonly int error
    cdef readonly object value
    cdef readonly object call  # ServerCall or None

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


# What resolve_ready() saw, as bits of its result: the driver corks the
# server's responses after a batch with requests, holds the client's next
# calls after a batch of several replies (RESOLVED_CALL), and stops after
# SHUTDOWN.
RESOLVED_REQUEST = 1
RESOLVED_SHUTDOWN = 2
RESOLVED_CALL = 4

# Events taken from the core per lock by resolve_ready().
cdef enum:
    RESOLVE_BATCH = 64
    NEXT_MANY_MAX = 256  # next_many()'s largest batch (on the stack)


cdef int _resolve(object future, Event event) except -1:
    if future.done():  # cancelled, or timed out: nobody waits
        return 0
    if event.op == CQ_OP_CALL:
        if not event.ok:
            future.set_exception(error_for(event.error))
        elif isinstance(event.value, ReplyError):
            future.set_exception(event.value)
        else:
            future.set_result(event.value)
    else:
        future.set_result(event)
    return 0


def resolve(future, event):
    """Hand an OP event to the future that is its tag (a done one ignores it):
    a CALL's future gets the reply itself, or raises what the call raises
    (ReplyError, or the error of a failed call), decided here in C once; any
    other operation's future gets the Event (and any other object, as itself:
    a driver's own futures)."""
    if type(event) is Event:
        _resolve(future, <Event>event)
    elif not future.done():
        future.set_result(event)


cdef int _resolve_all(list events) except -1:
    """resolve() for each OP event; every one is tried even if one raises
    (its future's loop closed, say), then the first error is raised."""
    cdef Event event
    cdef int flags = 0
    cdef Py_ssize_t calls = 0
    error = None
    for event in events:
        if event.type == CQ_EVENT_SHUTDOWN:
            flags |= RESOLVED_SHUTDOWN
        elif event.type == CQ_EVENT_OP:
            if event.op == CQ_OP_REQUEST:
                flags |= RESOLVED_REQUEST
            elif event.op == CQ_OP_CALL:
                calls += 1
            try:
                _resolve(event.tag, event)
            except Exception as exc:
                if error is None:
                    error = exc
    if calls > 1:  # one reply wakes one call: nothing to gather into one write
        flags |= RESOLVED_CALL
    if error is not None:
        raise error
    return flags


@cython.no_gc_clear
cdef class CompletionQueue(NativeHandle):
    """A completion queue: start operations with a tag, collect their events.

    next() and pluck() block with the GIL released and drive the socket I/O
    themselves; operations may be started from any thread.
    """

    cdef cq_queue *_q
    # The Poller driving this queue, if any: borrowed (the poller holds the
    # queue and clears this when it stops), so that close() can stop it.
    cdef PyObject *_poller

    _warn_unclosed = True

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

    def __init__(self, *, max_frame=None, max_depth=None, max_elements=None):
        pass  # __cinit__ did the work; NativeHandle.__init__ would refuse

    def __dealloc__(self):
        # Normally closed by now (close(), or __del__); no thread can be inside.
        if self._q != NULL:
            cq_destroy(self._q, drop_tag, NULL)
            self._q = NULL

    cdef bint _native_open(self):
        return self._q != NULL

    cdef str _dead_message(self):
        return "the completion queue is closed"

    cdef int _native_shutdown(self) except -1:
        # Threads in next()/pluck() return; a poller thread ends after SHUTDOWN
        # and is joined here, for it is inside the queue until it stops.
        with nogil:
            cq_shutdown(self._q)
        if self._poller != NULL:
            (<Poller>self._poller)._close()
        return 0

    cdef int _native_free(self) except -1:
        cq_destroy(self._q, drop_tag, NULL)
        self._q = NULL
        return 0

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

    cdef size_t _wait(self, cq_event *out, size_t max, void *tag, int64_t deadline,
                      cq_spinner *spinner) except 0:
        """next()/next_many() (``tag`` NULL; ``spinner`` may say how to wait) or
        pluck(tag) (``max`` 1) in slices of at most SIGNAL_CHECK_NS, checking for
        signals between them: fills ``out`` and returns how many. Each slice is
        entered and left on its own, so a signal handler may even close the queue
        (the wait then says SHUTDOWN)."""
        cdef int64_t until
        cdef size_t n
        while True:
            self._enter()
            try:
                with nogil:
                    until = cq_now() + SIGNAL_CHECK_NS
                    if deadline < until:
                        until = deadline
                    if tag != NULL:
                        out[0] = cq_pluck(self._q, tag, until)
                        n = 1
                    elif spinner != NULL:
                        n = cq_next_many_spinning(self._q, out, max, until, spinner)
                    else:
                        n = cq_next_many(self._q, out, max, until)
            finally:
                self._leave()
            if out[0].type != CQ_EVENT_TIMEOUT or until == deadline:
                return n
            PyErr_CheckSignals()  # KeyboardInterrupt and friends raise here
            if self._closed:  # by a signal handler, or another thread meanwhile
                memset(out, 0, sizeof(cq_event))
                out[0].type = CQ_EVENT_SHUTDOWN
                return 1

    cdef Event _wait_one(self, void *tag, int64_t deadline):
        cdef cq_event ev
        self._wait(&ev, 1, tag, deadline, NULL)
        return self._deliver(ev)

    def next(self, timeout=None):
        """Wait for the next event, at most ``timeout`` seconds (None: forever,
        0: do not block). Returns an Event; TIMEOUT and SHUTDOWN carry no tag.
        The GIL is released while waiting; Ctrl-C interrupts the wait."""
        return self._wait_one(NULL, deadline_for(timeout))

    def next_many(self, max_events=64, timeout=None, *, Spinner spinner=None):
        """Up to ``max_events`` events in one call, oldest first: next() for a
        batch. Waits as next() does for the first (at most ``timeout`` seconds,
        None: forever; Ctrl-C interrupts), then takes those already there; with
        a ``spinner``, waits as it says (see Spinner). Returns a list of Event:
        a TIMEOUT or a SHUTDOWN comes alone."""
        cdef Py_ssize_t wanted = max_events
        if not 1 <= wanted <= NEXT_MANY_MAX:
            raise ValueError(f"max_events must be between 1 and {NEXT_MANY_MAX}")
        cdef cq_event batch[NEXT_MANY_MAX]
        cdef size_t n = self._wait(batch, <size_t>wanted, NULL, deadline_for(timeout),
                                   NULL if spinner is None else spinner._s)
        cdef size_t i
        events = []
        error = None
        for i in range(n):
            try:  # converts, and releases the tag, even if another failed
                events.append(self._deliver(batch[i]))
            except Exception as exc:
                error = exc
        if error is not None:
            raise error
        return events

    def resolve_ready(self):
        """The event loop's drive (strategy iomgr): next(0) until TIMEOUT or
        SHUTDOWN, taking the events a batch per lock, each OP event handed to
        the future that is its tag (see resolve()). Returns RESOLVED_REQUEST,
        RESOLVED_CALL and RESOLVED_SHUTDOWN bits."""
        cdef cq_event batch[RESOLVE_BATCH]
        cdef size_t n, i
        cdef list events = []
        error = None
        while True:
            self._enter()
            try:
                with nogil:
                    n = cq_next_many(self._q, batch, RESOLVE_BATCH, 0)
            finally:
                self._leave()
            if batch[0].type == CQ_EVENT_TIMEOUT:
                break
            for i in range(n):
                try:  # converts, and releases the tag, even if another failed
                    events.append(self._deliver(batch[i]))
                except Exception as exc:
                    error = exc
            if batch[0].type == CQ_EVENT_SHUTDOWN:
                break
        flags = _resolve_all(events)
        if error is not None:
            raise error
        return flags

    def pluck(self, tag, timeout=None):
        """Like next(), but only for the event of ``tag`` (compared by identity)."""
        return self._wait_one(<void *>tag, deadline_for(timeout))

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

    def connect(self, host, port, tag):
        """Open a client connection; its CONNECT event carries ``tag``. Calls may
        be started at once: they are sent when the connection is up.
        ``host`` "unix:PATH" connects to a unix socket (``port`` is ignored)."""
        cdef bytes host_b = host_arg(host)
        cdef const char *c_host = host_b
        cdef cq_channel *ch = NULL
        cdef int rc
        cdef int c_port = port_arg(host_b, port)
        cdef Channel channel = Channel.__new__(Channel)
        self._enter()
        Py_INCREF(tag)
        try:
            with nogil:  # may block in a name lookup
                rc = cq_channel_create(self._q, c_host, c_port, <void *>tag, &ch)
            if rc != CQ_OK:
                Py_DECREF(tag)
                raise error_for(rc)
        finally:
            self._leave()
        channel._ch = ch
        channel._cq = self
        return channel

    def serve(self, host="127.0.0.1", port=0, *, bint builtins=True):
        """Listen on host:port (0: any free port), or on the unix socket of a
        "unix:PATH" host (``port`` ignored; the file is removed on close). With
        ``builtins`` the core answers PING and ECHO itself; every other command
        is a request."""
        cdef bytes host_b = host_arg(host)
        cdef const char *c_host = host_b
        cdef cq_server *server = NULL
        cdef unsigned flags = CQ_SERVER_BUILTINS if builtins else 0
        cdef int rc
        cdef int c_port = port_arg(host_b, port)
        cdef Server result = Server.__new__(Server)
        self._enter()
        try:
            with nogil:
                rc = cq_server_create(self._q, c_host, c_port, flags, &server)
            check(rc)
        finally:
            self._leave()
        result._server = server
        result._cq = self
        result._path = unix_path_of(host_b)
        return result

    def cork(self):
        """Hold back the writes of responses until uncork() (nested), so that
        a burst of responses leaves in one write per connection."""
        self._enter()
        try:
            cq_cork(self._q)
        finally:
            self._leave()

    def uncork(self):
        """Undo one cork(); the last one writes every response held back.
        A no-op once the queue is closed (its connections are gone)."""
        if self.closed:
            return
        self._enter()
        try:
            with nogil:
                cq_uncork(self._q)
        finally:
            self._leave()

    def hold_calls(self):
        """Hold back the writes of Channel.call() until release_calls() (nested),
        so that the calls started in one turn of an event loop leave in one
        write per connection."""
        self._enter()
        try:
            cq_hold_calls(self._q)
        finally:
            self._leave()

    def release_calls(self):
        """Undo one hold_calls(); the last one writes every call held back.
        A no-op once the queue is closed (its connections are gone)."""
        if self.closed:
            return
        self._enter()
        try:
            with nogil:
                cq_release_calls(self._q)
        finally:
            self._leave()

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
        """Shut down, stop the queue's Poller if it has one, wait until no thread
        is inside the queue, then free it and every handle made from it,
        releasing the tags of undelivered events. Idempotent."""
        self._close()

    @property
    def closed(self):
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
