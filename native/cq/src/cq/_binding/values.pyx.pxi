# Python objects to and from the core's values and arguments.

# Deepest response a server handler may return (a cycle would never end).
cdef int MAX_RESPONSE_DEPTH = 32

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
            raise ValueError("a simple string cannot contain CR or LF; "
                             "return bytes for a bulk string")
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


cdef extern from *:
    """
    #include <sys/un.h>
    /* The longest path a unix socket address holds, its NUL aside (see cq.h). */
    #define CQ_UNIX_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
    """
    const size_t CQ_UNIX_PATH_MAX

# A host that starts with this names a unix domain socket: "unix:/run/x.sock".
UNIX_PREFIX = "unix:"


cdef bytes host_arg(object host):
    """A host name for the core: str or bytes, without the NUL that would cut
    the C string short (CPython refuses those too). A "unix:PATH" str is
    encoded as os.fsencode encodes file names."""
    cdef bytes data
    if isinstance(host, str):
        if (<str>host).startswith(UNIX_PREFIX):
            data = os.fsencode(host)
        else:
            data = (<str>host).encode("utf-8")
    elif isinstance(host, bytes):
        data = host
    else:
        raise TypeError(f"host must be str or bytes, not {type(host).__name__!r}")
    if b"\0" in data:
        raise ValueError("host contains an embedded null byte")
    return data


cdef object unix_path_of(bytes host):
    """The path of a "unix:PATH" host (str, as os.fsdecode gives it), or None."""
    if host.startswith(b"unix:"):
        return os.fsdecode(host[5:])
    return None


cdef int check_port(int port) except -1:
    if port < 0 or port > 65535:
        raise ValueError(f"port must be 0-65535, not {port}")
    return 0


cdef int port_arg(bytes host, object port) except -1:
    """The port to hand the core with ``host``. A "unix:PATH" host ignores its
    port: any int is accepted (anything else is a TypeError, as for TCP), and
    its path is checked here, so that the ValueError says what is wrong where
    the core would only say "invalid argument"."""
    cdef int value
    cdef Py_ssize_t length
    if host.startswith(b"unix:"):
        PyNumber_Index(port)
        length = len(host) - 5
        if length == 0:
            raise ValueError("a unix socket address needs a path: 'unix:/path/to.sock'")
        if <size_t>length > CQ_UNIX_PATH_MAX:
            raise ValueError(f"unix socket path too long: {length} bytes, at most "
                             f"{CQ_UNIX_PATH_MAX} fit in a sockaddr_un "
                             f"({unix_path_of(host)!r})")
        return 0
    value = port  # TypeError, or OverflowError out of C int range
    check_port(value)
    return value


cdef bytes as_arg(object arg):
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return (<str>arg).encode("utf-8")
    if isinstance(arg, (bytearray, memoryview)):
        return bytes(arg)  # a copy: the GIL is released while the core reads it
    if isinstance(arg, (int, float)) and not isinstance(arg, bool):
        return repr(arg).encode("ascii")
    raise TypeError("a command argument must be str, bytes or a number, "
                    f"not {type(arg).__name__!r}")
