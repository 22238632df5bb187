"""Accepting resumes after the process ran out of descriptors because of fds
that are not the server's connections (issue 8, item 1).

Before, accepting paused on EMFILE and resumed only when one of the server's
own connections closed: once the other descriptors were freed, waiting and
new clients were never served. Now the paused listener is retried on a timer
(with backoff), as libuv and redis keep trying.

The server runs in a subprocess that lowers its own RLIMIT_NOFILE and fills
it with /dev/null descriptors, then frees them when told to.
"""

import socket
import subprocess
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX rlimits")]

SERVER = textwrap.dedent("""
    import os, resource, sys, threading
    import cq

    server = cq.SyncServer("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    hogs = []
    try:
        while True:
            hogs.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass  # EMFILE: not one descriptor left
    print(server.port, flush=True)
    sys.stdin.readline()  # the test's clients are waiting in the backlog
    for fd in hogs:
        os.close(fd)
    print("freed", flush=True)
    sys.stdin.readline()
    server.shutdown()
""")


def ping(sock):
    sock.sendall(b"PING\r\n")
    return sock.recv(64)


def test_accepting_resumes_once_foreign_descriptors_are_freed():
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        # Connects (the kernel's backlog takes it), but accept() fails with EMFILE.
        early = socket.create_connection(("127.0.0.1", port), timeout=60)
        early.sendall(b"PING\r\n")
        early.settimeout(0.5)
        with pytest.raises(TimeoutError):  # not served while the process is full
            early.recv(64)
        proc.stdin.write("free\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "freed"
        # Generous: the retry backoff is at most one second.
        early.settimeout(30)
        assert early.recv(64) == b"+PONG\r\n"
        with socket.create_connection(("127.0.0.1", port), timeout=30) as late:
            assert ping(late) == b"+PONG\r\n"
        early.close()
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
