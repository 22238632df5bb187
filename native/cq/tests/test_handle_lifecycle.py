"""Every native handle shares one lifecycle (NativeHandle, uvloop's UVHandle):
only factories construct one, every method checks it is alive, close() is
idempotent, an unclosed one warns with ResourceWarning when collected, and a
queue's close() stops its Poller instead of waiting for it forever."""

import gc
import subprocess
import sys
import threading
import warnings
import weakref

import cq
import pytest
from cq._aio import Poller

pytestmark = pytest.mark.timeout(60)

FACTORY_MADE = [cq.Alarm, cq.Channel, cq.Server, cq.ServerCall]


def run_python(code: str) -> subprocess.CompletedProcess:
    # A crash must fail this test, not kill the test run.
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("cls", FACTORY_MADE, ids=lambda c: c.__name__)
def test_constructing_a_handle_directly_raises_type_error(cls):
    with pytest.raises(TypeError, match="cannot be constructed directly"):
        cls()


def test_a_directly_made_alarm_raises_instead_of_crashing():
    # cq.Alarm().cancel() used to dereference a NULL queue (SIGSEGV).
    result = run_python("import cq\ncq.Alarm().cancel()")
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "TypeError" in result.stderr


@pytest.mark.parametrize("cls", FACTORY_MADE, ids=lambda c: c.__name__)
def test_a_subclass_that_skips_init_is_dead_not_dangerous(cls):
    # A Python subclass can bypass __init__; its methods still check liveness.
    method = {cq.Alarm: "cancel()", cq.Channel: "call(['PING'], 1)",
              cq.Server: "request(1)", cq.ServerCall: "respond(b'x')"}[cls]
    code = (f"import cq\nclass H(cq.{cls.__name__}):\n    def __init__(self): pass\n"
            f"h = H()\ntry:\n    h.{method}\nexcept RuntimeError as e:\n    print('dead:', e)\n")
    result = run_python(code)
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert "dead:" in result.stdout


def test_close_is_idempotent_and_closed_handles_refuse_work(cq_server):
    q = cq.CompletionQueue()
    channel = q.connect("127.0.0.1", cq_server.port, "connect")
    server = q.serve()
    poller = Poller(q)
    for handle in (channel, server, poller):
        handle.close()
        handle.close()
    with pytest.raises(RuntimeError, match="channel is closed"):
        channel.call(["PING"], "x")
    with pytest.raises(RuntimeError, match="server is closed"):
        server.request("x")
    with pytest.raises(RuntimeError, match="server is closed"):
        server.port
    with pytest.raises(RuntimeError, match="poller is stopped"):
        poller.drain()
    assert poller.stop() == []
    q.close()
    q.close()
    with pytest.raises(RuntimeError, match="completion queue is closed"):
        q.alarm(1, "x")


def test_a_queue_has_one_poller():
    with cq.CompletionQueue() as q:
        poller = Poller(q)
        with pytest.raises(ValueError, match="already has a poller"):
            Poller(q)
        poller.stop()
        Poller(q).stop()  # a stopped poller gave its place back


@pytest.mark.parametrize("per_event", [False, True])
def test_queue_close_returns_while_a_poller_is_alive(per_event):
    q = cq.CompletionQueue()
    poller = Poller(q, per_event=per_event)

    class Tag:
        pass

    tag = Tag()
    ref = weakref.ref(tag)
    q.alarm(60, tag)
    del tag
    closer = threading.Thread(target=q.close, daemon=True)
    closer.start()
    closer.join(30)
    assert not closer.is_alive(), "CompletionQueue.close() waited for the poller forever"
    assert q.closed and poller.thread_finished
    with pytest.raises(RuntimeError):
        poller.drain()
    assert poller.stop() == []
    gc.collect()
    assert ref() is None, "the pending alarm's tag outlived the queue"


def unclosed_warnings(make) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keep = make()
        del keep
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def test_unclosed_handles_warn_when_collected(cq_server):
    assert any("CompletionQueue" in m for m in unclosed_warnings(cq.CompletionQueue))
    with cq.CompletionQueue() as q:
        assert any("Channel" in m for m in unclosed_warnings(
            lambda: q.connect("127.0.0.1", cq_server.port, "c")))
        assert any("Server" in m for m in unclosed_warnings(q.serve))
        assert any("Poller" in m for m in unclosed_warnings(lambda: Poller(q)))
        # Collected unclosed: freed all the same, so a new poller may start.
        Poller(q).stop()


def test_closed_handles_and_alarms_do_not_warn(cq_server):
    def closed_queue():
        q = cq.CompletionQueue()
        q.close()
        return q

    def handles_of_a_closed_queue():
        q = cq.CompletionQueue()
        handles = [q.connect("127.0.0.1", cq_server.port, "c"), q.serve(), q.alarm(60, "a")]
        q.close()  # frees them with it
        return handles

    def closed_channel():
        with cq.CompletionQueue() as q:
            channel = q.connect("127.0.0.1", cq_server.port, "c")
            channel.close()
            return channel

    for make in (closed_queue, handles_of_a_closed_queue, closed_channel):
        assert unclosed_warnings(make) == [], make.__name__
