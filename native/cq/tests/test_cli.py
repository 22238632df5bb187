"""python -m cq serve / call: replies, exit codes, messages."""

import subprocess
import sys

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
