# One lifecycle for every native handle, written once (uvloop's UVHandle).

cdef class CompletionQueue  # defined in queue.pyx.pxi; every handle refers to one


@cython.no_gc_clear
cdef class NativeHandle:
    """The base of the binding's handles: CompletionQueue, and the Alarm,
    Channel, Server, ServerCall and Poller made from one.

    * Only factories construct a handle (``queue.connect()`` and the like):
      calling the class raises TypeError, so no handle exists without its
      native half.
    * Every method first checks that the handle is alive (``_ensure_alive``):
      a closed handle, or one whose queue is closed, raises RuntimeError.
    * Threads inside the core through a handle are counted (``_enter`` and
      ``_leave``, under the GIL). close() is idempotent: it refuses new
      entries, makes the threads inside return, waits on an Event with the GIL
      released until the last one has left, then frees the native object.
    * A handle that still owns an open resource when it is collected warns
      with ResourceWarning, then is closed all the same.
    """

    cdef CompletionQueue _cq   # the queue of the native object (None for a queue itself)
    cdef int _users            # threads inside the core through this handle (under the GIL)
    cdef bint _closed          # close() began: nobody new may enter
    cdef object _idle          # threading.Event: set when _users drops to 0 while closing

    # What to call instead of the class (named by the TypeError).
    _factory = "a CompletionQueue method"
    # Collected while open: a forgotten close() (a queue, connection, listener).
    _warn_unclosed = False

    def __init__(self, *args, **kwargs):
        raise TypeError(f"cq.{type(self).__name__} cannot be constructed directly; "
                        f"use {self._factory}")

    # --- what each kind of handle says about its native object ----------------

    cdef bint _native_open(self):
        """True while the native object exists and is still this handle's."""
        return False

    cdef int _native_shutdown(self) except -1:
        """Make the threads inside return soon (a queue: cq_shutdown)."""
        return 0

    cdef int _native_free(self) except -1:
        """Free the native object: the GIL is held and no thread is inside."""
        return 0

    cdef str _dead_message(self):
        return f"the {type(self).__name__} is closed"

    # --- the lifecycle ----------------------------------------------------------

    cdef bint _alive(self):
        if self._closed or not self._native_open():
            return False
        return self._cq is None or self._cq._alive()

    cdef int _ensure_alive(self) except -1:
        if not self._alive():
            raise RuntimeError(self._dead_message())
        return 0

    cdef int _enter(self) except -1:
        """Count the calling thread in before it enters the core (GIL held)."""
        self._ensure_alive()
        if self._cq is not None:
            self._cq._enter()
        self._users += 1
        return 0

    cdef void _leave(self) noexcept:
        self._users -= 1
        if self._cq is not None:
            self._cq._leave()
        if self._users == 0 and self._idle is not None:
            self._idle.set()

    cdef int _wait_idle(self) except -1:
        """Wait, GIL released, until every thread inside has left."""
        if self._users == 0:  # under the GIL, and _closed is set: stays 0
            return 0
        # Published before _users is read: a thread that leaves in between sets it.
        idle = self._idle = threading.Event()
        while self._users:
            idle.wait()
            idle.clear()
        self._idle = None
        return 0

    cdef int _close(self) except -1:
        if self._closed:
            return 0
        self._closed = True
        self._native_shutdown()
        self._wait_idle()
        # A handle outlives its queue's cq_destroy, which freed it already.
        if self._native_open() and (self._cq is None or self._cq._native_open()):
            self._native_free()
        return 0

    def __del__(self):
        # Nothing can be inside: every thread inside holds a reference to self.
        if not self._native_open() or self._closed:
            return
        if self._cq is not None and self._cq._closed:
            return
        try:
            # Not while the interpreter tears its modules down: nobody reads it.
            if self._warn_unclosed and not sys.is_finalizing():
                warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self)
        finally:
            self._close()
