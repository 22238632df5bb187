"""Running out of memory while serving one connection fails that connection,
never the process: no C++ exception (std::bad_alloc from a growing buffer)
may cross the C API into Cython code, where it terminates the interpreter
(issue 8, item 13).

The server runs in a subprocess whose address space is capped (RLIMIT_AS) a
little above what it uses; a peer then sends a frame far larger than the cap
leaves room for.
"""

import os
import socket
import subprocess
import sys
import textwrap

import pytest

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc"),
    pytest.mark.skipif("asan" in os.environ.get("LD_PRELOAD", ""),
                       reason="ASan reserves terabytes of address space: RLIMIT_AS cannot apply"),
]

SERVER = textwrap.dedent("""
    import resource, sys, threading
    import cq

    server = cq.SyncServer("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with open("/proc/self/status") as f:
        size = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (size + (96 << 20), resource.RLIM_INFINITY))
    print(server.port, flush=True)
    sys.stdin.readline()
    server.shutdown()
""")

HUGE = 60 << 20  # below max_frame (64 MiB): only memory can refuse it


def test_a_frame_that_exhausts_memory_closes_only_its_connection():
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        header = b"*2\r\n$4\r\nECHO\r\n$%d\r\n" % HUGE
        chunk = b"x" * (1 << 20)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as greedy:
            try:
                greedy.sendall(header)
                for _ in range(HUGE // len(chunk)):
                    greedy.sendall(chunk)
                greedy.sendall(b"\r\n")
                reply = greedy.recv(64)  # the ECHO, if memory sufficed after all
            except (ConnectionResetError, BrokenPipeError):
                reply = b""  # closed: what running out of memory must do
        assert proc.poll() is None, f"the server died (status {proc.returncode})"
        with socket.create_connection(("127.0.0.1", port), timeout=30) as other:
            other.sendall(b"PING\r\n")
            assert other.recv(64) == b"+PONG\r\n"
        assert not reply or reply.startswith(b"$%d" % HUGE)
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
