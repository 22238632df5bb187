"""Requests that wait in the server's backlog (nobody asked for them yet) are
freed as soon as their connection is gone, not kept until the next request().

"Gone" is a reset: a peer's FIN alone only says it will send nothing more, and
its requests are still answered (test_hardening_half_close.py)."""

import ctypes
import os
import socket
import struct
import sys

import cq
import pytest

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallinfo2"),
    pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                       reason="ASan's allocator does not fill in mallinfo2"),
]

PEERS = 32
PAYLOAD = 256 << 10


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


def heap_in_use() -> int:
    """Bytes the C allocator has handed out and not got back (brk and mmap)."""
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("libc has no mallinfo2 (glibc >= 2.33)")
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def test_backlog_of_a_closed_connection_is_freed_at_once():
    command = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n" % (PAYLOAD, b"v" * PAYLOAD)
    with cq.CompletionQueue() as q:
        server = q.serve()  # and no request(): every command waits in the backlog
        before = heap_in_use()
        for _ in range(PEERS):
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                sock.sendall(command)
                # Abortive close: RST, the peer is gone for good.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for _ in range(20):  # drive the I/O: read, queue, see each hang-up
            q.next(0.02)
        held = heap_in_use() - before
        # Kept, that would be PEERS * PAYLOAD = 8 MiB for peers long gone.
        assert held < PEERS * PAYLOAD // 4, f"{held / 1e6:.1f} MB held for closed connections"
        server.close()
