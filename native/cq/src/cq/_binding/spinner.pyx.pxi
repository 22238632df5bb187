# Spin, then park (src/core/spinner.h): how a thread that waits on a queue
# waits. The poller thread has one of its own (Poller(spin=...)); a Python
# thread passes one to CompletionQueue.next_many() (the callback strategy's).

cdef int64_t spin_for(object spin) except -1:
    """Seconds (None: the default) as a spin window in nanoseconds."""
    if spin is None:
        return CQ_SPIN_DEFAULT_NS
    cdef double seconds = spin  # TypeError for what is not a number, as time.sleep()
    if isnan(seconds):
        raise ValueError("spin must not be NaN")
    if seconds < 0:
        raise ValueError("spin must be non-negative")
    if seconds * 1e9 > CQ_SPIN_MAX_NS:
        raise ValueError(f"spin must be at most {CQ_SPIN_MAX_NS / 1e9:g} s "
                         "(a thread spins on a core while it waits)")
    return <int64_t>(seconds * 1e9)


cdef dict spin_stats(cq_spin_stats *stats):
    return {"parks": stats.parks, "spin_hits": stats.spin_hits,
            "spin_misses": stats.spin_misses}


cdef class Spinner:
    """How a thread waits in CompletionQueue.next_many(): after events it keeps
    polling without blocking for up to ``spin`` seconds (DEFAULT: 50 us),
    yielding its core between rounds, before it sleeps in epoll_wait, and it
    spins again only after a sleep that ended within ``spin``. Under a steady
    stream of events, a sleep and a wake-up per batch cost more than the events
    take to come. ``spin=0`` never spins. One waiting thread per spinner;
    stats() may be read from any thread."""

    DEFAULT = CQ_SPIN_DEFAULT_NS / 1e9
    MAX = CQ_SPIN_MAX_NS / 1e9

    cdef cq_spinner *_s

    def __cinit__(self, spin=None):
        cdef int rc = cq_spinner_new(spin_for(spin), &self._s)
        if rc != CQ_OK:
            raise error_for(rc)

    def __init__(self, spin=None):
        pass  # __cinit__ did the work (and took spin)

    def stats(self):
        """What its thread did so far: ``parks`` (times it went to sleep in the
        queue's epoll_wait), ``spin_hits`` (spins that found events) and
        ``spin_misses`` (spins whose window ended first). A snapshot."""
        cdef cq_spin_stats stats
        cq_spinner_stats(self._s, &stats)
        return spin_stats(&stats)

    def __dealloc__(self):
        cq_spinner_free(self._s)
