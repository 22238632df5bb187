"""Command line: ``python -m cq serve`` and ``python -m cq call``.

Exit codes: 0 success; 1 the call failed (error reply, refused or lost
connection, timeout); 2 bad arguments (argparse's convention).

Both sub-commands default to DEFAULT_PORT, so ``serve`` in one terminal and ``call``
in another find each other with no option at all. ``--host unix:PATH`` uses a
unix domain socket instead (``--port`` is then ignored).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from ._cq import ReplyError
from .sync import Client, SyncServer, address_of

# One port for both sides. Not 6379: a learner's own redis-server usually listens
# there, and `serve` would fail or `call` would reach redis instead of us. Not 7000
# either: macOS (12+) has its AirPlay receiver on 7000 and 5000. 6399 is unassigned
# and sits next to redis's port, a hint that the protocol is redis's (RESP).
DEFAULT_PORT = 6399


def format_reply(value: Any, indent: str = "") -> str:
    """Render a reply the way redis-cli does for a terminal."""
    if value is None:
        return "(nil)"
    if isinstance(value, int):
        return f"(integer) {value}"
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, ReplyError):
        return f"(error) {value}"
    if isinstance(value, list):
        if not value:
            return "(empty array)"
        width = len(str(len(value)))
        lines = []
        for i, item in enumerate(value, 1):
            prefix = f"{i:>{width}}) "
            lines.append(prefix + format_reply(item, indent + " " * len(prefix)))
        return ("\n" + indent).join(lines)
    return str(value)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range 0-65535: {port}")
    return port


def _timeout(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not seconds >= 0:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be a non-negative number of seconds: {text!r}")
    return seconds


def serve(args: argparse.Namespace) -> int:
    try:
        server = SyncServer(args.host, args.port, threads=args.threads)
    except OSError as exc:
        print(f"cq serve: cannot listen on {address_of(args.host, args.port)}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a bad --host: a unix path too long, a NUL byte
        print(f"cq serve: {exc}", file=sys.stderr)
        return 2
    # The signal handler only calls the core's shutdown (no I/O, no waiting);
    # the workers run in threads so the main thread is free to receive signals.
    def stop(signum: int, frame: object) -> None:
        server.shutdown()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"cq: serving RESP on {server.address} (Ctrl-C to stop)", flush=True)
    thread = threading.Thread(target=server.serve_forever, name="cq-serve")
    thread.start()
    while thread.is_alive():
        thread.join(0.2)
    server.close()
    return 0


def call(args: argparse.Namespace) -> int:
    try:
        client = Client(args.host, args.port, timeout=args.timeout)
    except (OSError, TimeoutError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        print(f"cq call: cannot connect to {address_of(args.host, args.port)}: {reason}",
              file=sys.stderr)
        return 1
    except ValueError as exc:  # a bad --host: a unix path too long, a NUL byte
        print(f"cq call: {exc}", file=sys.stderr)
        return 2
    with client:
        try:
            reply = client.call(*args.command)
        except ReplyError as exc:
            print(f"(error) {exc}", file=sys.stderr)
            return 1
        except (OSError, TimeoutError, ValueError) as exc:
            print(f"cq call: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    print(format_reply(reply))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m cq", description="A RESP server and client on the completion-queue core.")
    commands = top.add_subparsers(dest="action", required=True, metavar="{serve,call}")

    s = commands.add_parser("serve", help="serve RESP (PING, ECHO) until Ctrl-C",
                            description="Serve RESP until SIGINT/SIGTERM. PING and ECHO are "
                                        "answered by the core; try redis-cli -p PORT PING.")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to bind, or unix:PATH for a unix socket (default 127.0.0.1)")
    s.add_argument("--port", type=_port, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT}; 0: any free port)")
    s.add_argument("--threads", type=int, default=1, help="Python worker threads (default 1)")
    s.set_defaults(run=serve)

    c = commands.add_parser("call", help="send one command and print its reply",
                            description="Send one command, e.g. ECHO hi, and print the reply.")
    c.add_argument("--host", default="127.0.0.1",
                   help="server address, or unix:PATH for a unix socket (default 127.0.0.1)")
    c.add_argument("--port", type=_port, default=DEFAULT_PORT,
                   help=f"server port (default {DEFAULT_PORT}, serve's; redis-server: 6379)")
    c.add_argument("--timeout", type=_timeout, default=10.0, help="seconds to wait (default 10)")
    c.add_argument("command", nargs="+", help="the command and its arguments")
    c.set_defaults(run=call)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "threads", 1) < 1:
        parser().error("--threads must be at least 1")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
