# The native half of cq.aio: a poller thread that drives a CompletionQueue.
#
# The thread (src/core/poller_thread.cc) loops on cq_next() without the GIL and
# without a Python object, and queues the events natively; the event loop
# watches fileno() and collects them here, with the GIL, where they become
# Event objects under the binding's tag rule: the reference taken when an
# operation started is released when its event is delivered (drain/pop) or, for
# events nobody collected, when the poller stops.

cdef extern from "poller_thread.h" nogil:
    ctypedef struct cq_poller_thread:
        pass
    ctypedef enum cq_wake_policy:
        CQ_WAKE_PER_BATCH
        CQ_WAKE_PER_EVENT
    int cq_poller_thread_start(cq_queue *q, cq_wake_policy policy, int64_t spin_ns,
                               cq_poller_thread **out)
    void cq_poller_thread_stats(cq_poller_thread *p, cq_spin_stats *out)
    int cq_poller_thread_fd(cq_poller_thread *p)
    size_t cq_poller_thread_read_wakeups(cq_poller_thread *p, size_t max_bytes)
    int cq_poller_thread_pop(cq_poller_thread *p, cq_event *out)
    size_t cq_poller_thread_take(cq_poller_thread *p, cq_event *out, size_t max)
    size_t cq_poller_thread_pending(cq_poller_thread *p)
    int cq_poller_thread_finished(cq_poller_thread *p)
    void cq_poller_thread_join(cq_poller_thread *p)
    void cq_poller_thread_destroy(cq_poller_thread *p,
                                  void (*drop_event)(cq_event *event, void *ctx) noexcept,
                                  void *ctx)

# Events moved out of the native queue per lock acquisition by drain().
cdef enum:
    TAKE_BATCH = 64


@cython.no_gc_clear
cdef class Poller(NativeHandle):
    """A native thread that runs ``queue.next()`` forever and wakes an event loop.

    ``per_event=False`` (strategy ``poller``): one wake-up byte when the native
    queue turns non-empty; drain() takes every event in one call.
    ``per_event=True`` (strategy ``poller_byte``, gRPC's design): one byte per
    event; read_wakeup() reads one byte, pop() takes one event at a time.

    The thread waits as a Spinner of ``spin`` seconds does (None: Spinner's
    DEFAULT, 50 us): after events it polls on without blocking before it
    sleeps in epoll_wait. ``spin=0``: it sleeps whenever it is idle, as gRPC's
    poller does. stats() counts what it did (see Spinner.stats()).

    A queue has at most one poller. The poller counts as a thread inside the
    queue until stop(); the queue's close() stops it.
    """

    cdef cq_poller_thread *_p
    cdef readonly bint per_event
    cdef readonly bint finished  # the SHUTDOWN event was handed out
    cdef list _left              # the events stop() collected, for stop() to return
    cdef bint _keep_left         # stop() is running: keep them (others drop them)

    _warn_unclosed = True

    def __cinit__(self, CompletionQueue queue not None, *, bint per_event=False,
                  spin=None):
        cdef int rc
        cdef cq_wake_policy policy = CQ_WAKE_PER_EVENT if per_event else CQ_WAKE_PER_BATCH
        cdef int64_t spin_ns = spin_for(spin)
        queue._enter()  # left in _native_free: the thread is inside until then
        if queue._poller != NULL:
            queue._leave()
            raise ValueError("this queue already has a poller")
        with nogil:
            rc = cq_poller_thread_start(queue._q, policy, spin_ns, &self._p)
        if rc != CQ_OK:
            queue._leave()
            raise error_for(rc)
        self._cq = queue
        queue._poller = <PyObject *>self
        self.per_event = per_event

    def __init__(self, CompletionQueue queue not None, *, bint per_event=False, spin=None):
        pass  # __cinit__ did the work; NativeHandle.__init__ would refuse

    cdef bint _native_open(self):
        return self._p != NULL

    cdef str _dead_message(self):
        return "the poller is stopped"

    cdef int _native_shutdown(self) except -1:
        # The thread ends by itself after SHUTDOWN, whatever the event loop
        # does, and never needs the GIL: joining it cannot deadlock.
        with nogil:
            cq_shutdown(self._cq._q)
            cq_poller_thread_join(self._p)
        return 0

    cdef int _native_free(self) except -1:
        try:
            left = self._take_all()  # releases their tags
            if self._keep_left:
                self._left = left
        finally:
            with nogil:
                cq_poller_thread_destroy(self._p, NULL, NULL)
            self._p = NULL
            self._cq._poller = NULL
            self._cq._leave()
        return 0

    cdef Event _deliver(self, cq_event ev):
        if ev.type == CQ_EVENT_SHUTDOWN:
            self.finished = True
        return self._cq._deliver(ev)

    cdef list _take_all(self):
        """Every queued event as Event objects: tags are released even if one
        conversion fails (that error is raised after the others are taken)."""
        cdef cq_event batch[TAKE_BATCH]
        cdef size_t n, i
        cdef list events = []
        error = None
        while True:
            n = cq_poller_thread_take(self._p, batch, TAKE_BATCH)
            for i in range(n):
                try:
                    events.append(self._deliver(batch[i]))
                except Exception as exc:
                    error = exc
            if n < TAKE_BATCH:
                break
        if error is not None:
            raise error
        return events

    def stats(self):
        """What the thread did so far, as Spinner.stats() says."""
        cdef cq_spin_stats stats
        self._ensure_alive()
        cq_poller_thread_stats(self._p, &stats)
        return spin_stats(&stats)

    def fileno(self):
        """The wake-up socket the event loop watches (add_reader)."""
        self._ensure_alive()
        return cq_poller_thread_fd(self._p)

    def drain(self):
        """Every queued event, oldest first, as a list of Event (one call).

        Reads the pending wake-up bytes first: an event queued after that
        writes a new one, so none is left without a wake-up."""
        self._ensure_alive()
        cq_poller_thread_read_wakeups(self._p, 0)
        return self._take_all()

    def resolve_ready(self):
        """drain(), each OP event handed to the future that is its tag in C
        (see resolve()): no Python frame per event. Returns RESOLVED_REQUEST,
        RESOLVED_CALL and RESOLVED_SHUTDOWN bits."""
        return _resolve_all(self.drain())

    def read_wakeup(self):
        """Read one wake-up byte (poller_byte); returns how many were read (0/1)."""
        self._ensure_alive()
        return cq_poller_thread_read_wakeups(self._p, 1)

    def pop(self):
        """The oldest queued event, or None if the queue is empty (one lock each)."""
        cdef cq_event ev
        self._ensure_alive()
        if not cq_poller_thread_pop(self._p, &ev):
            return None
        return self._deliver(ev)

    def pending(self):
        """How many events wait in the native queue (a snapshot)."""
        self._ensure_alive()
        return cq_poller_thread_pending(self._p)

    @property
    def thread_finished(self):
        """True once the native thread has queued SHUTDOWN and returned."""
        return self._p == NULL or cq_poller_thread_finished(self._p) != 0

    def stop(self):
        """Shut the queue down, wait for the thread (GIL released) and free it.
        Returns the events nobody collected (their tags already released);
        [] if it was stopped already (by the queue's close(), for one)."""
        self._keep_left = True
        try:
            self._close()
        finally:
            self._keep_left = False
        left, self._left = self._left, None
        return left or []

    def close(self):
        """stop(), dropping the events nobody collected."""
        self.stop()

    def __dealloc__(self):
        # Normally stopped by now (stop(), the queue's close(), or __del__).
        if self._p != NULL and self._cq is not None:
            with nogil:
                cq_shutdown(self._cq._q)
                cq_poller_thread_join(self._p)
            cq_poller_thread_destroy(self._p, NULL, NULL)  # drops the events' tags
            self._p = NULL
            self._cq._poller = NULL
            self._cq._leave()
