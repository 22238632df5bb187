"""A raw-socket RESP server that answers late or never, as a stuck peer does.

One thread per connection reads commands in order (as redis-server does:
a blocked command holds the commands behind it on that connection):

* ``PING`` -> ``+PONG``;
* ``HOLD`` -> ``+late``, but only once the test calls ``release()``;
* ``NEVER`` -> no reply at all (like ``BLPOP key 0`` on an empty list), nor
  to any command behind it, which are still read and counted.

It counts connections and commands, so tests poll for what the peer saw
instead of sleeping.
"""

from __future__ import annotations

import socket
import threading
import time


class StallingPeer:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.connections = 0   # accepted so far
        self.open = 0          # not yet closed by the client
        self.received: list[str] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self.connections += 1
                self.open += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while (command := read_command(reader)) is not None:
                with self._lock:
                    self.received.append(command)
                if command == "PING":
                    conn.sendall(b"+PONG\r\n")
                elif command == "HOLD":
                    self._released.wait()
                    conn.sendall(b"+late\r\n")
                elif command == "NEVER":
                    # Hold the connection until the client leaves.
                    while (later := read_command(reader)) is not None:
                        with self._lock:
                            self.received.append(later)
                    return
                else:
                    conn.sendall(b"-ERR unknown command\r\n")
        except OSError:
            pass  # the client reset the connection
        finally:
            reader.close()
            conn.close()
            with self._lock:
                self.open -= 1

    def release(self) -> None:
        """Let every HOLD answer (late)."""
        self._released.set()

    def wait_for(self, condition, what: str, timeout: float = 30.0) -> None:
        """Poll the peer's counters until condition(self) holds."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"the peer never saw {what} (connections="
                                     f"{self.connections}, open={self.open}, "
                                     f"received={self.received[-5:]})")
            time.sleep(0.005)

    def close(self) -> None:
        self._released.set()
        self._listener.close()


def read_command(reader) -> str | None:
    """The command name of one RESP array of bulk strings, or None at EOF."""
    header = reader.readline()
    if not header:
        return None
    assert header.startswith(b"*"), header
    parts = []
    for _ in range(int(header[1:])):
        length = int(reader.readline()[1:])
        parts.append(reader.read(length + 2)[:-2])
    return parts[0].decode().upper()
