"""The sync stack: blocking calls and a threaded server loop over the core.

Each blocking call starts one operation and waits for *its* event with
``pluck`` (as gRPC's sync stack does), so many threads can share one client:
their commands are pipelined on one connection and each thread gets its own
reply. The GIL is released while a thread waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from ._cq import (
    OP,
    REQUEST,
    SHUTDOWN,
    TIMEOUT,
    UNIX_PREFIX,  # a host "unix:/run/x.sock" is a unix domain socket
    Channel,
    ClosedError,
    CompletionQueue,
    Event,
    ReplyError,
    respond_many,
)

Handler = Callable[..., Any]


def address_of(host: str | bytes, port: int) -> str:
    """How messages name an address: "unix:PATH" as given (its port is
    ignored), else "host:port"."""
    text = host if isinstance(host, str) else host.decode("utf-8", "backslashreplace")
    return text if text.startswith(UNIX_PREFIX) else f"{text}:{port}"


def unix_path_of(host: str | bytes) -> str | None:
    """The path of a "unix:PATH" host, or None for a TCP host."""
    text = host if isinstance(host, str) else host.decode("utf-8", "surrogateescape")
    return text[len(UNIX_PREFIX):] if text.startswith(UNIX_PREFIX) else None


def reply_of(event: Event) -> Any:
    """The value a call returns for its event, or the exception it raises (shared
    by this sync client and every cq.aio client)."""
    if event.type != OP:
        raise RuntimeError("the client is closed")
    if not event.ok:
        raise event.exception()
    if isinstance(event.value, ReplyError):
        raise event.value
    return event.value


class Ticket:
    """One call's claim on a connection, for a caller that may give up on it."""

    __slots__ = ("abandoned", "channel")

    def __init__(self) -> None:
        self.abandoned = False
        self.channel: Channel | None = None


class Client:
    """A blocking RESP client, safe to share between threads. ``host`` may be
    "unix:PATH" for a unix domain socket (``port`` is then ignored).

    A call whose reply does not come in time (``timeout``) or whose caller
    gives up on it (``abandon()``) closes the connection: RESP replies carry no
    id, so its late reply would be taken for the next call's. The calls
    pipelined with it fail with ClosedError and the next call opens a new
    connection (as redis-py does).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 6379, *,
                 timeout: float | None = 10.0, queue: CompletionQueue | None = None) -> None:
        # A queue given by the caller is shared (cq.aio's sync strategy: every
        # client of a loop on one queue) and stays open after close().
        self._owns_queue = queue is None
        self._cq = CompletionQueue() if queue is None else queue
        self._closed = False
        self.host, self.port = host, port
        self.address = address_of(host, port)
        self.timeout = timeout
        self.connect_timeout = timeout
        self._lock = threading.Lock()  # guards _channel: one connect at a time
        self._channel: Channel | None = None
        try:
            self._connect()
        except BaseException:
            self.close()
            raise

    @property
    def closed(self) -> bool:
        return self._closed or self._cq.closed

    def _connect(self) -> Channel:
        tag = object()
        channel = self._cq.connect(self.host, self.port, tag)
        event = self._cq.pluck(tag, self.connect_timeout)
        if event.type != OP or not event.ok:
            channel.close()  # a pending connect completes now, releasing its tag
            if event.type == TIMEOUT:
                self._cq.pluck(tag, 0)
                raise TimeoutError(f"connecting to {self.address} took more than "
                                   f"{self.connect_timeout} s")
            if event.type != OP:
                raise RuntimeError("the client is closed")
            error = event.exception()
            path = unix_path_of(self.host)
            if path is not None and isinstance(error, OSError) and error.filename is None:
                error.filename = path  # "No such file or directory: '/run/x.sock'"
            raise error
        self._channel = channel
        return channel

    def abandon(self, channel: Channel | None = None) -> None:
        """Close the connection (``channel``, if it is still the current one, or
        the current one): its calls in flight fail with ClosedError, and the
        next call reconnects. For a caller that gives up on a call's reply."""
        with self._lock:
            if channel is None:
                channel = self._channel
            if channel is self._channel:
                self._channel = None
        if channel is not None and not self._cq.closed:
            channel.close()

    def call(self, *args: str | bytes | int | float, timeout: float | None = None) -> Any:
        """Send one command and return its reply (bytes, str, int, None or a list).

        ``timeout`` (default: the client's) bounds the wait for the reply.
        Raises ReplyError for an error reply, TimeoutError if no reply came in
        time (the connection is then closed), ClosedError if the connection
        closed first (a timeout or abandon() of another call, the peer),
        RuntimeError after close().
        """
        return self.call_with(Ticket(), args, timeout)

    def call_with(self, ticket: Ticket, args: tuple, timeout: float | None = None) -> Any:
        """call(*args), giving another thread ``give_up(ticket)``: if it comes
        before the command is sent, nothing is sent; after, the connection that
        owes the reply is closed."""
        if self.closed:
            raise RuntimeError("the client is closed")
        tag = object()
        with self._lock:
            if ticket.abandoned:
                raise ClosedError("the call was given up before it was sent")
            channel = self._channel if self._channel is not None else self._connect()
            ticket.channel = channel
        try:
            channel.call(args, tag)
        except RuntimeError:
            if self.closed or channel is self._channel:
                # Not abandoned (abandon() forgets the channel before closing it):
                # another error, such as the queue inherited across fork().
                raise
            # Abandoned by another thread between the two steps: not sent.
            raise ClosedError("the connection was closed by a call that was given up "
                              "or timed out; retry to reconnect") from None
        event = self._cq.pluck(tag, self.timeout if timeout is None else timeout)
        if event.type == TIMEOUT:
            # Closing fails every call in flight at once, this one included;
            # collect its event so that its tag is released now.
            self.abandon(channel)
            self._cq.pluck(tag, 0)
            raise TimeoutError(f"no reply to {args[0]!r} in time; connection closed")
        return reply_of(event)

    def give_up(self, ticket: Ticket) -> None:
        """The caller of call_with(ticket) no longer waits (any thread)."""
        with self._lock:
            ticket.abandoned = True
            channel = ticket.channel
        if channel is not None:
            self.abandon(channel)

    def close(self) -> None:
        """Close the connection (calls in flight fail with ClosedError) and
        the queue, unless it was given. Idempotent."""
        self._closed = True
        if self._owns_queue:
            self._cq.close()
        else:
            self.abandon()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def error_reply(exc: BaseException) -> ReplyError:
    """The error reply a peer gets when a handler raised: the message on one line."""
    message = f"ERR {type(exc).__name__}: {exc}"
    return ReplyError(message.replace("\r", " ").replace("\n", " "))


def send_response(call: Any, response: Any) -> None:
    """Answer a request with a handler's return value (every server's way): a
    value RESP cannot carry becomes an error reply; a peer that left is ignored."""
    try:
        call.respond(response)
    except (ValueError, TypeError, OverflowError) as exc:
        call.respond(ReplyError(f"ERR bad response from handler: {exc}"))
    except (ConnectionError, RuntimeError):
        pass  # the client left, or the server is closing


def send_responses(calls: list[Any], responses: list[Any]) -> None:
    """send_response for a burst: under one lock, each connection written once.
    A peer that left is ignored; a call whose value RESP cannot carry is still
    answerable, and send_response turns it into the error reply."""
    for call, response, error in zip(calls, responses, respond_many(calls, responses),
                                     strict=True):
        if isinstance(error, (ValueError, TypeError, OverflowError)):
            send_response(call, response)


def _config(*args: bytes) -> list[bytes]:
    # redis-benchmark asks for CONFIG GET save/appendonly before it starts:
    # answer with empty values rather than an error it would print.
    if len(args) >= 2 and args[0].upper() == b"GET":
        return [item for key in args[1:] for item in (key, b"")]
    return ReplyError("ERR only CONFIG GET is supported")  # type: ignore[return-value]


class SyncServer:
    """A RESP server whose application commands run as Python handlers.

    PING and ECHO are answered inside the core (unless ``builtins=False``);
    every other command is dispatched to the handler registered for its name,
    in one of ``threads`` worker threads. ``serve_forever`` returns after
    ``shutdown()``, which is safe from any thread or a signal handler.

    ``host`` "unix:PATH" listens on a unix domain socket (``port`` ignored,
    ``self.port`` 0, ``self.path`` the path); closing removes the file.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, threads: int = 1,
                 builtins: bool = True) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self._cq = CompletionQueue()
        try:
            self._server = self._cq.serve(host, port, builtins=builtins)
        except BaseException:
            self._cq.close()
            raise
        self.host = host
        self.port: int = self._server.port  # 0 for a unix socket
        self.path: str | None = self._server.path  # the unix socket's, else None
        self.address = address_of(host, self.port)
        self.threads = threads
        self.handlers: dict[bytes, Handler] = {b"CONFIG": _config}

    def handler(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator: ``@server.handler("GET")`` registers a command handler that
        takes the arguments as bytes and returns the response value."""
        def register(fn: Handler) -> Handler:
            self.handlers[name.upper().encode()] = fn
            return fn
        return register

    def add_handlers(self, handlers: dict[str, Handler] | Iterable[tuple[str, Handler]]) -> None:
        items = handlers.items() if isinstance(handlers, dict) else handlers
        for name, fn in items:
            self.handlers[name.upper().encode()] = fn

    def _dispatch(self, args: list[bytes]) -> Any:
        fn = self.handlers.get(args[0].upper())
        if fn is None:
            name = args[0].decode("utf-8", "replace").replace("\r", " ").replace("\n", " ")
            return ReplyError(f"ERR unknown command '{name}'")
        try:
            return fn(*args[1:])
        except Exception as exc:  # the peer gets the message, the server goes on
            return error_reply(exc)

    def _worker(self) -> None:
        cq, server = self._cq, self._server
        try:
            server.request(object())
        except RuntimeError:
            return  # already shut down
        while True:
            try:
                event = cq.next()
            except RuntimeError:
                return  # the queue was closed while this worker ran a handler
            if event.type == SHUTDOWN:
                return
            if event.type != OP or event.op != REQUEST or not event.ok:
                continue
            try:
                server.request(object())  # keep one request open per worker
            except RuntimeError:
                pass
            send_response(event.call, self._dispatch(event.value))

    def serve_forever(self) -> None:
        """Run the workers until shutdown(), then free the queue."""
        workers = [threading.Thread(target=self._worker, name=f"cq-server-{i}", daemon=True)
                   for i in range(self.threads - 1)]
        for worker in workers:
            worker.start()
        try:
            self._worker()
        finally:
            for worker in workers:
                worker.join()

    def shutdown(self) -> None:
        """Stop serving: every worker's next() returns SHUTDOWN."""
        if not self._cq.closed:
            self._cq.shutdown()

    def close(self) -> None:
        self._cq.close()

    def __enter__(self) -> SyncServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.close()
