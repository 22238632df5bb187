# Status codes to Python exceptions, and Python timeouts to core deadlines.

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
    if isnan(seconds):  # libc's: math.isnan would box the double and call Python
        raise ValueError("timeout must not be NaN")
    if seconds < 0:
        raise ValueError("timeout must be non-negative")  # as time.sleep() says
    if seconds == 0:
        return 0
    if seconds > 1e9:  # beyond 30 years: forever, and no int64 overflow
        return CQ_INFINITE
    return cq_now() + <int64_t>(seconds * 1e9)
