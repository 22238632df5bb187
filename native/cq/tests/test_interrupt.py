"""Ctrl-C reaches a thread blocked in next()/pluck(), even with no deadline.

The core waits with the GIL released, so Python's SIGINT handler only sets a
flag; the binding must come back to check it (PyErr_CheckSignals) while it waits.
``_thread.interrupt_main`` sets exactly that flag, as the C handler would.
"""

import _thread
import signal
import threading
import time

import cq
import pytest

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(autouse=True)
def sigint_raises_keyboardinterrupt():
    # A process started in the background by a non-interactive shell (as CI runs
    # us) inherits SIGINT ignored, and Python then installs no handler, so
    # interrupt_main() would do nothing. Install Python's own handler for the test.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_main_after(seconds: float) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), _thread.interrupt_main()))
    thread.start()
    return thread


@pytest.mark.parametrize("wait", ["next", "pluck", "next_many", "next_many spinning"])
def test_ctrl_c_interrupts_a_wait_without_deadline(wait):
    with cq.CompletionQueue() as q:
        interrupter = interrupt_main_after(0.2)
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            if wait == "next":
                q.next()
            elif wait == "pluck":
                q.pluck("never")
            else:
                q.next_many(spinner=cq.Spinner() if "spinning" in wait else None)
        interrupter.join()
        assert time.monotonic() - start < 5
        # The queue is still usable afterwards.
        q.alarm(0, "after")
        assert q.next(5).tag == "after"


def test_ctrl_c_interrupts_a_thread_waiting_behind_the_poller():
    # The main thread sleeps on the condition variable while another thread
    # holds the poller role in epoll_wait: both waits must notice the signal.
    with cq.CompletionQueue() as q:
        poller = threading.Thread(target=lambda: q.pluck("stop"))
        poller.start()
        time.sleep(0.1)
        interrupter = interrupt_main_after(0.2)
        with pytest.raises(KeyboardInterrupt):
            q.pluck("never")
        interrupter.join()
        q.alarm(0, "stop")
        poller.join(5)
        assert not poller.is_alive()
