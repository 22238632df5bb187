"""Unix domain sockets: host "unix:PATH" (port ignored) for every client and
server, against real peers (redis-server --unixsocket, redis-cli -s); bad
paths; the socket file's life (stale files replaced, live ones and other files
never, removed on close but not by a child of fork); the CLI (issue 9, item 3).
"""

import asyncio
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import warnings

import cq
import cq.aio
import pytest
from cq_aio_helpers import run
from cq_peers import need_binary, start_redis, wait_for_unix_socket

pytestmark = pytest.mark.timeout(120)

# sun_path holds 108 bytes on Linux, 104 on macOS, the NUL included.
UNIX_PATH_MAX = 103 if sys.platform == "darwin" else 107


@pytest.fixture
def sock_dir():
    """A short directory for socket files: pytest's tmp_path can pass sun_path."""
    folder = tempfile.mkdtemp(prefix="cq-unix-", dir="/tmp")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_unix():
    """redis-server listening only on a unix socket (no TCP port); its path."""
    folder = tempfile.mkdtemp(prefix="cq-redis-", dir="/tmp")
    path = os.path.join(folder, "redis.sock")
    proc = start_redis(unixsocket=path)
    try:
        yield path
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def redis_cli(path, *args):
    done = subprocess.run([need_binary("redis-cli"), "-s", path, *args], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()  # no tty: raw replies, one per line


def start_sync_server(host):
    server = cq.SyncServer(host, 0, threads=2)
    store = {}
    server.add_handlers({"SET": lambda k, v: store.__setitem__(k, v) or "OK",
                         "GET": lambda k: store.get(k)})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def stop_sync_server(server, thread):
    server.shutdown()
    thread.join(10)
    assert not thread.is_alive()
    server.close()


# --- our clients against redis-server's unix socket ---------------------------------

def test_client_calls_redis_server_over_its_unix_socket(redis_unix):
    # Any port is accepted and ignored, even one no TCP address could have.
    with cq.Client("unix:" + redis_unix, 2**80) as client:
        assert client.call("SET", "unix-key", "v") == "OK"
        assert client.call("GET", "unix-key") == b"v"
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(client.call("ECHO", i)))
                   for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results) == sorted(str(i).encode() for i in range(20))
        # redis-server says where the connection came from: its unix socket.
        info = client.call("CLIENT", "INFO")
        assert f"laddr={redis_unix}" in info.decode(), info


@pytest.mark.parametrize("strategy", cq.aio.STRATEGIES)
def test_aio_clients_call_redis_server_over_its_unix_socket(redis_unix, strategy, loop_factory):
    async def main():
        client = await cq.aio.connect("unix:" + redis_unix, -1, strategy=strategy)
        try:
            assert await client.call("PING") == "PONG"
            assert await client.call("SET", f"aio-{strategy}", strategy) == "OK"
            assert await client.call("GET", f"aio-{strategy}") == strategy.encode()
            echoes = await asyncio.gather(*(client.call("ECHO", i) for i in range(100)))
            assert echoes == [str(i).encode() for i in range(100)]
        finally:
            await client.close()

    run(main(), loop_factory)


# --- redis-cli against our servers' unix sockets ------------------------------------

def test_redis_cli_talks_to_the_sync_server(sock_dir):
    path = os.path.join(sock_dir, "sync.sock")
    server, thread = start_sync_server("unix:" + path)
    try:
        assert (server.port, server.path, server.address) == (0, path, "unix:" + path)
        assert redis_cli(path, "PING") == "PONG"  # answered by the core
        assert redis_cli(path, "SET", "k", "v") == "OK"  # by Python handlers
        assert redis_cli(path, "GET", "k") == "v"
        assert os.path.exists(path)
    finally:
        stop_sync_server(server, thread)
    assert not os.path.exists(path), "closing the server must remove its socket file"


async def aio_handler(*args):
    if args[0].upper() == b"ADD":
        await asyncio.sleep(0)
        return int(args[1]) + int(args[2])
    return cq.ReplyError("ERR unknown command")


@pytest.mark.parametrize("strategy", cq.aio.SERVER_STRATEGIES)
def test_redis_cli_talks_to_the_aio_server(sock_dir, strategy, loop_factory):
    path = os.path.join(sock_dir, f"{strategy}.sock")

    async def main():
        async with await cq.aio.serve("unix:" + path, 12345, aio_handler,
                                      strategy=strategy) as server:
            assert server.port == 0 and server.path == os.path.abspath(path)
            assert await asyncio.to_thread(redis_cli, path, "ADD", "40", "2") == "42"
            assert await asyncio.to_thread(redis_cli, path, "ECHO", "hi") == "hi"
            client = await cq.aio.connect("unix:" + path, strategy=strategy)
            try:
                assert await client.call("ADD", 1, 2) == 3
            finally:
                await client.close()
        assert not os.path.exists(path), "closing the aio server must remove its socket file"

    run(main(), loop_factory)


# --- bad addresses --------------------------------------------------------------------

def test_bad_paths_raise_value_errors(sock_dir):
    too_long = "unix:/tmp/" + "x" * (UNIX_PATH_MAX - 4)  # one byte past sun_path
    with cq.CompletionQueue() as q:
        for host in ("unix:", b"unix:"):
            with pytest.raises(ValueError, match="needs a path"):
                q.connect(host, 0, "t")
            with pytest.raises(ValueError, match="needs a path"):
                q.serve(host, 0)
        with pytest.raises(ValueError, match=f"too long: {UNIX_PATH_MAX + 1} bytes, at most "
                                             f"{UNIX_PATH_MAX}"):
            q.connect(too_long, 0, "t")
        with pytest.raises(ValueError, match="too long"):
            q.serve(too_long, 0)
        with pytest.raises(ValueError, match="null byte"):
            q.serve("unix:/tmp/a\0b", 0)
        with pytest.raises(TypeError):
            q.connect("unix:/tmp/x.sock", "6379", "t")  # ignored, but still an int
    with pytest.raises(ValueError, match="too long"):
        cq.Client(too_long)
    with pytest.raises(ValueError, match="too long"):
        cq.SyncServer(too_long)
    # The longest path that fits works, to the byte.
    longest = os.path.join(sock_dir, "")
    longest += "y" * (UNIX_PATH_MAX - len(longest))
    server, thread = start_sync_server("unix:" + longest)
    try:
        with cq.Client("unix:" + longest) as client:
            assert client.call("ECHO", "edge") == b"edge"
    finally:
        stop_sync_server(server, thread)
    assert not os.path.exists(longest)


def test_connect_to_a_missing_or_dead_socket_says_why(sock_dir, loop_factory):
    missing = os.path.join(sock_dir, "missing.sock")
    with pytest.raises(FileNotFoundError) as info:
        cq.Client("unix:" + missing)
    assert info.value.errno == errno.ENOENT and info.value.filename == missing
    with cq.CompletionQueue() as q:  # the binding's event says the same
        q.connect("unix:" + missing, 0, "c")
        event = q.pluck("c", 10)
        assert not event.ok and event.error == errno.ENOENT
        assert isinstance(event.exception(), FileNotFoundError)
    dead = os.path.join(sock_dir, "dead.sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(dead)  # a socket file nobody listens on
        with pytest.raises(ConnectionRefusedError):
            cq.Client("unix:" + dead)

    async def main():
        for strategy in cq.aio.STRATEGIES:
            with pytest.raises(FileNotFoundError):
                await cq.aio.connect("unix:" + missing, strategy=strategy)

    run(main(), loop_factory)


def test_a_full_listen_backlog_fails_at_once(sock_dir):
    """A unix connect() to a listener whose backlog is full starts nothing
    (EAGAIN), unlike TCP's: the connect fails at once, it never hangs."""
    path = os.path.join(sock_dir, "full.sock")
    fillers = []
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)
        listener.listen(0)
        try:
            while True:  # fill the backlog, never accepting
                filler = socket.socket(socket.AF_UNIX)
                filler.setblocking(False)
                try:
                    filler.connect(path)
                except BlockingIOError:
                    filler.close()
                    break
                fillers.append(filler)
                assert len(fillers) < 1000, "the backlog never filled"
            with pytest.raises(BlockingIOError) as info:
                cq.Client("unix:" + path)
            assert info.value.errno == errno.EAGAIN
        finally:
            for filler in fillers:
                filler.close()


# --- the socket file's life -----------------------------------------------------------

def test_a_stale_socket_file_is_replaced(sock_dir):
    path = os.path.join(sock_dir, "stale.sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)  # what a killed server leaves: a socket file, nobody listening
    assert os.path.exists(path)
    server, thread = start_sync_server("unix:" + path)
    try:
        assert redis_cli(path, "PING") == "PONG"
    finally:
        stop_sync_server(server, thread)
    assert not os.path.exists(path)


def test_a_live_socket_or_another_file_is_never_replaced(sock_dir, redis_unix):
    with pytest.raises(OSError) as info:
        cq.SyncServer("unix:" + redis_unix)
    assert info.value.errno == errno.EADDRINUSE
    assert redis_cli(redis_unix, "PING") == "PONG"  # redis-server still has its socket
    ours = os.path.join(sock_dir, "ours.sock")
    server, thread = start_sync_server("unix:" + ours)
    try:
        with pytest.raises(OSError) as info:
            cq.SyncServer("unix:" + ours)
        assert info.value.errno == errno.EADDRINUSE
        assert redis_cli(ours, "PING") == "PONG"
    finally:
        stop_sync_server(server, thread)
    regular = os.path.join(sock_dir, "notes.txt")
    with open(regular, "w") as f:
        f.write("keep me")
    with pytest.raises(OSError) as info:
        cq.SyncServer("unix:" + regular)
    assert info.value.errno == errno.EADDRINUSE
    with open(regular) as f:
        assert f.read() == "keep me"


def test_closing_removes_the_file_by_every_route(sock_dir):
    paths = [os.path.join(sock_dir, f"{i}.sock") for i in range(3)]
    q = cq.CompletionQueue()
    by_close = q.serve("unix:" + paths[0])
    with_queue = q.serve("unix:" + paths[1])  # freed with the queue
    assert all(os.path.exists(p) for p in paths[:2])
    by_close.close()
    assert not os.path.exists(paths[0])
    assert by_close.path == paths[0]  # still known after close
    q.close()
    assert not os.path.exists(paths[1])
    q = cq.CompletionQueue()
    by_shutdown = q.serve("unix:" + paths[2])
    q.shutdown()  # shutting the queue down closes its listeners
    assert not os.path.exists(paths[2])
    q.close()
    del with_queue, by_shutdown  # held until here: collecting a server closes it too


def test_a_relative_path_is_removed_after_a_chdir(sock_dir):
    here = os.getcwd()
    os.chdir(sock_dir)
    try:
        with cq.CompletionQueue() as q:
            server = q.serve("unix:rel.sock")  # held: collecting it would close it
            os.chdir(here)
            assert os.path.exists(os.path.join(sock_dir, "rel.sock")) and server.port == 0
    finally:
        os.chdir(here)
    assert not os.path.exists(os.path.join(sock_dir, "rel.sock"))


def test_closing_spares_a_socket_that_replaced_ours(sock_dir):
    path = os.path.join(sock_dir, "moved.sock")
    with cq.CompletionQueue() as q:
        server = q.serve("unix:" + path)  # held: collecting it would close it
        os.unlink(path)
        with socket.socket(socket.AF_UNIX) as other:
            other.bind(path)
            other.listen()
            q.close()
            assert os.path.exists(path), "our close removed another server's socket"
            wait_for_unix_socket(path)
    assert server.path == path


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_child_of_fork_leaves_the_parents_socket_file(sock_dir):
    path = os.path.join(sock_dir, "forked.sock")
    q = cq.CompletionQueue()
    server = q.serve("unix:" + path)  # held: collecting it would close it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:
        try:
            q.close()  # the child's copy: must not unlink the parent's file
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    try:
        assert os.path.exists(path), "a child of fork removed its parent's socket file"
        wait_for_unix_socket(path)  # and the parent still listens there
    finally:
        q.close()
    assert not os.path.exists(path) and server.path == path


STRACE_SCRIPT = """
import sys, cq
host = sys.argv[1]
with cq.CompletionQueue() as q:
    server = q.serve(host, 0)
    channel = q.connect(host, server.port, "c")
    channel.call(["PING"], "p")
    assert q.pluck("p", 30).value == "PONG"
    channel.close()
"""


def test_no_tcp_nodelay_on_unix_sockets(sock_dir):
    """TCP_NODELAY is for TCP: on an AF_UNIX socket it is only a failing call.
    strace shows the socket options our client and server set; TCP is the
    control that shows the trace would see it."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace not found (apt-get install strace)")

    def setsockopt_calls(host):
        out = os.path.join(sock_dir, "trace.txt")
        done = subprocess.run([strace, "-f", "-e", "trace=setsockopt", "-o", out,
                               sys.executable, "-c", STRACE_SCRIPT, host],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0 and "ptrace" in done.stderr:
            pytest.skip(f"strace cannot trace here: {done.stderr.strip()}")
        assert done.returncode == 0, done.stderr
        with open(out) as f:
            return f.read()

    assert setsockopt_calls("127.0.0.1").count("TCP_NODELAY") == 2  # client and accepted
    assert "TCP_NODELAY" not in setsockopt_calls("unix:" + os.path.join(sock_dir, "t.sock"))


# --- the command line -----------------------------------------------------------------

def cli(*args, timeout=30):
    return subprocess.run([sys.executable, "-m", "cq", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_serves_and_calls_on_a_unix_socket(sock_dir):
    path = os.path.join(sock_dir, "cli.sock")
    proc = subprocess.Popen([sys.executable, "-m", "cq", "serve", "--host", "unix:" + path],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first_line = proc.stdout.readline()  # printed once it listens
        assert first_line == f"cq: serving RESP on unix:{path} (Ctrl-C to stop)\n", first_line
        assert redis_cli(path, "ECHO", "hi") == "hi"
        done = cli("call", "--host", "unix:" + path, "ECHO", "from cq")
        assert (done.returncode, done.stdout) == (0, "from cq\n"), done.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert not os.path.exists(path)


def test_cli_errors_name_the_unix_address(sock_dir, redis_unix):
    missing = os.path.join(sock_dir, "none.sock")
    done = cli("call", "--host", "unix:" + missing, "PING")
    assert done.returncode == 1
    assert f"cannot connect to unix:{missing}: No such file or directory" in done.stderr
    done = cli("serve", "--host", "unix:" + redis_unix)
    assert done.returncode == 1
    assert f"cannot listen on unix:{redis_unix}: Address already in use" in done.stderr
    for action in ("serve", "call"):
        done = cli(action, "--host", "unix:/tmp/" + "z" * 200, *(["PING"] * (action == "call")))
        assert done.returncode == 2 and "too long" in done.stderr, done.stderr
