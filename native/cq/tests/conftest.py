"""Fixtures: real peers on free loopback ports, and the kinds of event loop.

``redis_port`` starts Debian's redis-server, ``cq_server`` runs our SyncServer
in background threads; both stop at the end. ``loop_factory`` runs a test once
on asyncio's loop and once on uvloop's.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from cq_aio_helpers import LOOP_KINDS, LoopFactory
from cq_peers import free_port, need_binary, start_server, stop_server, wait_for_port


@pytest.fixture(scope="session")
def redis_port():
    """A real redis-server on a free loopback port, stopped after the session."""
    binary = need_binary("redis-server")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--protected-mode", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def cq_server():
    """Our SyncServer (PING/ECHO native, SET/GET in Python) in background threads."""
    running = start_server()
    yield running
    stop_server(running)


@pytest.fixture(params=LOOP_KINDS)
def loop_factory(request):
    """Makes the test's event loops: asyncio's, then uvloop's (skipped, with the
    install command, where uvloop is not installed: cq-asan's and cq-valgrind's
    environments)."""
    return LoopFactory(request.param)


def pytest_collection_modifyitems(config, items):
    # valgrind slows everything ~30x: give each test far more time there.
    if os.environ.get("CQ_UNDER_VALGRIND"):
        for item in items:
            item.add_marker(pytest.mark.timeout(600), append=False)
