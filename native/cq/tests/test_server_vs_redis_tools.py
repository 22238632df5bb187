"""Our server driven by the real redis-cli and redis-benchmark."""

import re
import subprocess

import pytest
from cq_peers import need_binary

pytestmark = pytest.mark.timeout(120)


def cli(port, *args):
    binary = need_binary("redis-cli")
    done = subprocess.run([binary, "-p", str(port), *args], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_redis_cli_ping_echo_and_python_handlers(cq_server):
    assert cli(cq_server.port, "PING") == "PONG"
    assert cli(cq_server.port, "ECHO", "hi") == "hi"
    assert cli(cq_server.port, "SET", "greeting", "hello") == "OK"
    assert cli(cq_server.port, "GET", "greeting") == "hello"
    assert cli(cq_server.port, "GET", "missing") == ""
    assert "unknown command" in cli(cq_server.port, "NOPE")


@pytest.mark.parametrize("extra", [[], ["-P", "16"], ["-c", "200"]],
                         ids=["plain", "pipelined", "200-clients"])
def test_redis_benchmark_runs_with_zero_errors(cq_server, extra):
    binary = need_binary("redis-benchmark")
    done = subprocess.run(
        [binary, "-p", str(cq_server.port), "-t", "ping", "-n", "20000", "--csv", *extra],
        capture_output=True, text=True, timeout=100,
    )
    assert done.returncode == 0, done.stderr
    assert "error" not in (done.stdout + done.stderr).lower()
    rows = [line for line in done.stdout.splitlines() if line.startswith('"PING')]
    assert len(rows) == 2  # PING_INLINE and PING_MBULK
    for row in rows:
        rps = float(re.findall(r'"([0-9.]+)"', row)[0])
        assert rps > 0


def test_redis_benchmark_set_get_through_python_handlers(cq_server):
    binary = need_binary("redis-benchmark")
    done = subprocess.run(
        [binary, "-p", str(cq_server.port), "-t", "set,get", "-n", "5000", "--csv"],
        capture_output=True, text=True, timeout=100,
    )
    assert done.returncode == 0, done.stderr
    assert "error" not in (done.stdout + done.stderr).lower()
