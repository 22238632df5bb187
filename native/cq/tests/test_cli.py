"""python -m cq serve / call: replies, exit codes, messages."""

import signal
import subprocess
import sys
import time

import pytest
from cq_peers import free_port, need_binary, wait_for_port

pytestmark = pytest.mark.timeout(60)


def run(*args, timeout=30):
    return subprocess.run([sys.executable, "-m", "cq", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_help_and_bad_arguments():
    assert run("--help").returncode == 0
    assert "call" in run("call", "--help").stdout
    bad = run("call", "--port", "99999", "PING")
    assert bad.returncode == 2 and "out of range" in bad.stderr
    assert run().returncode == 2  # no sub-command
    for timeout in ("-1", "nan", "soon"):
        bad = run("call", "--timeout", timeout, "PING")
        assert bad.returncode == 2 and "--timeout" in bad.stderr, bad.stderr


def test_call_against_redis_server(redis_port):
    done = run("call", "--port", str(redis_port), "ECHO", "hi")
    assert (done.returncode, done.stdout) == (0, "hi\n")
    done = run("call", "--port", str(redis_port), "NOSUCH")
    assert done.returncode == 1 and "(error)" in done.stderr


def test_call_refused_connection_has_a_clear_message():
    done = run("call", "--port", str(free_port()), "PING")
    assert done.returncode == 1
    assert "cannot connect" in done.stderr and "refused" in done.stderr.lower()


def test_serve_answers_redis_cli_and_stops_on_sigint():
    cli = need_binary("redis-cli")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cq", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port)
        ping = subprocess.run([cli, "-p", str(port), "PING"], capture_output=True, text=True)
        echo = subprocess.run([cli, "-p", str(port), "ECHO", "hi"], capture_output=True, text=True)
        assert ping.stdout.strip() == "PONG"
        assert echo.stdout.strip() == "hi"
        call = run("call", "--port", str(port), "ECHO", "from cq")
        assert call.stdout == "from cq\n"
    finally:
        proc.send_signal(2)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert f"127.0.0.1:{port}" in out


def test_serve_on_a_busy_port_fails_cleanly(redis_port):
    done = run("serve", "--port", str(redis_port))
    assert done.returncode == 1
    assert "cannot listen" in done.stderr


def test_serve_and_call_with_no_options_find_each_other():
    """The first thing a learner tries: `python -m cq serve` in one terminal,
    `python -m cq call PING` in another, neither given a port."""
    from cq.__main__ import DEFAULT_PORT

    # Another run of this test (a second checkout, CI on the same host) may hold the
    # default port for a moment: retry while serve says the port is taken.
    deadline = time.monotonic() + 30
    while True:
        proc = subprocess.Popen([sys.executable, "-m", "cq", "serve"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        # serve prints this line once it listens (flushed), or exits: no guessing.
        first_line = proc.stdout.readline()
        if first_line.startswith("cq: serving"):
            break
        err = proc.communicate(timeout=10)[1]
        assert "cannot listen" in err, (first_line, err)
        if time.monotonic() > deadline:
            pytest.skip(f"port {DEFAULT_PORT} stayed in use by another program: {err.strip()}")
        time.sleep(0.5)
    try:
        done = run("call", "ECHO", "defaults")
        assert (done.returncode, done.stdout, done.stderr) == (0, "defaults\n", "")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == 0
    # The server that answered was ours, listening where its message said.
    assert f"127.0.0.1:{DEFAULT_PORT}" in first_line
