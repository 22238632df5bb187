"""The sync strategy never holds up interpreter exit.

With calls in flight (no timeout, to a peer that never answers), sys.exit
and Ctrl-C must end the process promptly. Before, ThreadPoolExecutor's
non-daemon workers were joined at exit, for as long as the calls took:
forever here. Each case runs in a subprocess, polled for its exit up to a
generous deadline.
"""

import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

DEADLINE = 30.0

# A peer inside the script (accepts, reads, never answers), then four calls
# in flight on the sync strategy; "in flight" is printed once it has read them.
# SIGINT first gets Python's own handler, as in a program started from a
# terminal: a process started in the background by a non-interactive shell
# (a CI step, `cmd &`) inherits SIGINT ignored, Python then installs no
# handler, asyncio.run/uvloop.run install none either, and the Ctrl-C below
# would be ignored: a 30 s "hang" with an empty stderr.
PRELUDE = textwrap.dedent("""
    import asyncio, signal, socket, sys, threading, time
    import cq.aio

    signal.signal(signal.SIGINT, signal.default_int_handler)

    listener = socket.create_server(("127.0.0.1", 0))
    received = []

    def never_answer():
        conn, _ = listener.accept()
        while data := conn.recv(65536):
            received.append(data)

    threading.Thread(target=never_answer, daemon=True).start()

    async def calls_in_flight():
        client = await cq.aio.connect("127.0.0.1", listener.getsockname()[1],
                                      strategy="sync", timeout=None)
        calls = [asyncio.ensure_future(client.call("BLPOP", "k", 0)) for _ in range(4)]
        while b"".join(received).count(b"BLPOP") < 4:
            await asyncio.sleep(0.01)
        print("in flight", flush=True)
        return calls
""")


def wait_for_exit(proc: subprocess.Popen) -> int:
    deadline = time.monotonic() + DEADLINE
    while (code := proc.poll()) is None:
        if time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"the process did not exit within {DEADLINE} s "
                        f"(calls in flight held it): {err[-2000:]}")
        time.sleep(0.05)
    return code


def start(script: str, loop_factory) -> subprocess.Popen:
    # The script makes its loop with loops.new_event_loop or loops.run (asyncio's or uvloop's).
    prelude = f"import {loop_factory.name} as loops\n" + PRELUDE
    proc = subprocess.Popen([sys.executable, "-c", prelude + textwrap.dedent(script)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line == "in flight\n", (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc


def test_sys_exit_with_calls_in_flight(loop_factory):
    proc = start("""
        async def main():
            await calls_in_flight()
            sys.exit(3)
        loop = loops.new_event_loop()
        loop.run_until_complete(main())  # sys.exit leaves the loop and its calls
    """, loop_factory)
    assert wait_for_exit(proc) == 3


def test_ctrl_c_with_calls_in_flight(loop_factory):
    proc = start("""
        async def main():
            calls = await calls_in_flight()
            await asyncio.gather(*calls)
        loops.run(main())
    """, loop_factory)
    proc.send_signal(signal.SIGINT)
    code = wait_for_exit(proc)
    assert code != 0
    assert "KeyboardInterrupt" in proc.stderr.read()
