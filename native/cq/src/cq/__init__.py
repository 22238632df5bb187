"""cq: a completion-queue core in C++ with a Cython binding (workshop stage 3).

The core (``src/core/cq.h``) does the socket I/O, timers and RESP2 wire
protocol; this package exposes it as :class:`CompletionQueue` and builds a
blocking API on top (:mod:`cq.sync`). POSIX only (Linux and macOS).
"""

from ._cq import (
    ALARM,
    CALL,
    CONNECT,
    E_CANCELLED,
    E_CLOSED,
    E_INVALID,
    E_NOMEM,
    E_PROTOCOL,
    E_RESOLVE,
    E_SHUTDOWN,
    E_TOO_LARGE,
    OP,
    REQUEST,
    SHUTDOWN,
    TIMEOUT,
    Alarm,
    CancelledError,
    Channel,
    ClosedError,
    CompletionQueue,
    Event,
    ProtocolError,
    ReplyError,
    Server,
    ServerCall,
    error_for,
    respond_many,
)
from .sync import Client, SyncServer

__all__ = [
    "ALARM",
    "CALL",
    "CONNECT",
    "E_CANCELLED",
    "E_CLOSED",
    "E_INVALID",
    "E_NOMEM",
    "E_PROTOCOL",
    "E_RESOLVE",
    "E_SHUTDOWN",
    "E_TOO_LARGE",
    "OP",
    "REQUEST",
    "SHUTDOWN",
    "TIMEOUT",
    "Alarm",
    "CancelledError",
    "Channel",
    "Client",
    "ClosedError",
    "CompletionQueue",
    "Event",
    "ProtocolError",
    "ReplyError",
    "Server",
    "ServerCall",
    "SyncServer",
    "error_for",
    "respond_many",
]
