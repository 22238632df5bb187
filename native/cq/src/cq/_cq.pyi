"""Type stubs for the Cython binding of the completion-queue core."""

from collections.abc import Sequence
from typing import Any

from typing_extensions import disjoint_base

OP: int
TIMEOUT: int
SHUTDOWN: int
ALARM: int
CONNECT: int
CALL: int
REQUEST: int
E_SHUTDOWN: int
E_CANCELLED: int
E_PROTOCOL: int
E_TOO_LARGE: int
E_CLOSED: int
E_INVALID: int
E_RESOLVE: int
E_NOMEM: int
RESOLVED_REQUEST: int
RESOLVED_SHUTDOWN: int
RESOLVED_CALL: int
UNIX_PREFIX: str  # a host "unix:/run/x.sock" is a unix domain socket

_Arg = str | bytes | bytearray | memoryview | int | float
# What a server handler may return: str (simple string), bytes (bulk string),
# int, None (nil), a list/tuple of these, or an exception (an error reply).
_Response = Any

class ReplyError(Exception):
    """A RESP error reply: the call worked, the command failed."""

class ProtocolError(ValueError):
    """The peer broke RESP or a limit; the connection is closed."""

class CancelledError(Exception):
    """The operation was cancelled."""

class ClosedError(ConnectionError):
    """The connection closed before the operation completed."""

def error_for(code: int) -> BaseException:
    """The exception for a core status code (positive: errno)."""

def resolve(future: Any, event: Any) -> None: ...

@disjoint_base
class NativeHandle:
    """The base of every handle to a native object: constructing one of its
    kinds directly is a TypeError (each names the method to use instead)."""

    def __init__(self, *args: object, **kwargs: object) -> None: ...

@disjoint_base
class Event:
    """One completion."""

    @property
    def type(self) -> int: ...
    @property
    def op(self) -> int: ...
    @property
    def tag(self) -> Any: ...
    @property
    def ok(self) -> bool: ...
    @property
    def error(self) -> int: ...
    @property
    def value(self) -> Any:
        """A reply (str, bytes, int, None, list, ReplyError) or a request's arguments."""
    @property
    def call(self) -> ServerCall | None: ...
    def exception(self) -> BaseException | None:
        """The exception describing a failed operation, or None."""

@disjoint_base
class CompletionQueue(NativeHandle):
    """Start operations with a tag, collect their events with next()/pluck()."""

    def __init__(self, *, max_frame: int | None = None, max_depth: int | None = None,
                 max_elements: int | None = None) -> None: ...
    def resolve_ready(self) -> int: ...
    def hold_calls(self) -> None: ...
    def release_calls(self) -> None: ...
    def next(self, timeout: float | None = None) -> Event:
        """Wait (GIL released) for the next event; 0 polls, None waits forever."""
    def next_many(self, max_events: int = 64, timeout: float | None = None, *,
                  spinner: Spinner | None = None) -> list[Event]:
        """next() for a batch: waits for the first event (as the spinner says),
        returns it with those already there; a TIMEOUT or SHUTDOWN comes alone."""
    def pluck(self, tag: Any, timeout: float | None = None) -> Event:
        """Wait for the event of one tag (by identity)."""
    def fileno(self) -> int:
        """A fd readable when next(0) may make progress (Linux: the epoll fd)."""
    def next_alarm(self) -> float | None:
        """Seconds until the earliest alarm, or None."""
    def alarm(self, timeout: float, tag: Any) -> Alarm: ...
    def connect(self, host: str | bytes, port: int, tag: Any) -> Channel:
        """host "unix:PATH": a unix socket; the port (any int) is ignored."""
    def serve(self, host: str | bytes = "127.0.0.1", port: int = 0, *,
              builtins: bool = True) -> Server:
        """host "unix:PATH": a unix socket, removed on close; port ignored."""
    def cork(self) -> None:
        """Hold back response writes until uncork() (nested); any thread."""
    def uncork(self) -> None:
        """Undo one cork(); the last writes every held response."""
    def shutdown(self) -> None:
        """Refuse new operations, fail the in-flight ones; any thread."""
    def close(self) -> None:
        """Shut down, stop its Poller, free the queue and every handle made from it."""
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> CompletionQueue: ...
    def __exit__(self, *exc_info: object) -> None: ...

@disjoint_base
class Alarm(NativeHandle):
    """Made by CompletionQueue.alarm(); constructing one directly is a TypeError."""

    def cancel(self) -> bool:
        """True if it was pending; its event then has ok=False."""

@disjoint_base
class Channel(NativeHandle):
    """Made by CompletionQueue.connect(); close() is idempotent."""

    def call(self, args: Sequence[_Arg], tag: Any) -> None:
        """Send one command; its reply completes the CALL event of tag."""
    def close(self) -> None: ...

@disjoint_base
class Server(NativeHandle):
    """Made by CompletionQueue.serve(); close() is idempotent."""

    @property
    def port(self) -> int:
        """0 for a unix socket."""
    @property
    def path(self) -> str | None:
        """The unix socket's path, or None for TCP."""
    def request(self, tag: Any, count: int = 1) -> int:
        """The next command (count of them) completes a REQUEST event of tag;
        returns how many requests were opened."""
    def take(self) -> tuple[list[bytes], ServerCall] | None:
        """A request already waiting, without an event; None if none is."""
    def take_many(self, max_count: int) -> list[tuple[list[bytes], ServerCall]]:
        """Up to max_count requests already waiting, under one lock."""
    def close(self) -> None: ...

@disjoint_base
class ServerCall(NativeHandle):
    """The call of a REQUEST event; constructing one directly is a TypeError."""

    def respond(self, value: _Response) -> None:
        """Answer once; responses leave in request order per connection."""

def respond_many(calls: Sequence[ServerCall], values: Sequence[Any]) -> list[Exception | None]:
    """Answer calls[i] with values[i] under one lock, one write per connection;
    per call None, or the exception respond() would have raised."""

@disjoint_base
class Spinner:
    """How a thread waits in next_many(): after events it polls on without
    blocking for up to ``spin`` seconds, yielding its core, before it sleeps."""

    DEFAULT: float  # 50 us
    MAX: float  # 1 s
    def __init__(self, spin: float | None = None) -> None: ...
    def stats(self) -> dict[str, int]:
        """{"parks", "spin_hits", "spin_misses"}: what its thread did so far."""

@disjoint_base
class Poller(NativeHandle):
    """A native thread that runs the queue's next() without the GIL and wakes
    an event loop through fileno(): one byte per batch, or per event."""

    per_event: bool
    finished: bool
    def __init__(self, queue: CompletionQueue, *, per_event: bool = False,
                 spin: float | None = None) -> None: ...
    def stats(self) -> dict[str, int]:
        """What the thread did so far, as Spinner.stats()."""
    def fileno(self) -> int:
        """The wake-up socket to watch for reading."""
    def resolve_ready(self) -> int: ...
    def drain(self) -> list[Event]:
        """Every queued event in one call (reads the wake-up bytes first)."""
    def read_wakeup(self) -> int:
        """Read one wake-up byte; 0 if none was waiting."""
    def pop(self) -> Event | None:
        """The oldest queued event, or None."""
    def pending(self) -> int: ...
    @property
    def thread_finished(self) -> bool: ...
    def stop(self) -> list[Event]:
        """Shut the queue down, join the thread, return the uncollected events."""
    def close(self) -> None:
        """stop(), dropping the uncollected events."""
