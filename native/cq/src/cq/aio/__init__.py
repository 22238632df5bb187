"""cq.aio: the completion queue under asyncio, six ways.

``client = await cq.aio.connect(host, port, strategy="poller")``, then
``await client.call("ECHO", "hi")`` and ``await client.close()``;
``server = await cq.aio.serve(host, port, handler, strategy="poller")``.
The strategies (STRATEGIES) are the ones compared in
docs/concepts/integration-strategies.md: ``sync``, ``iomgr``, ``callback``,
``thread_loop``, ``poller_byte`` and ``poller``. Every client and server of
one loop and strategy shares one completion queue and its machinery (one
poller thread, not one per client). Sync and async code may share one
process: a cq.Client in a worker thread while the loop serves async calls.
"""

from ._clients import STRATEGIES, AsyncClient, SyncStrategyClient, ThreadLoopClient, connect
from ._server import (
    SERVER_STRATEGIES,
    AsyncServer,
    ServerBase,
    SyncPoolServer,
    ThreadLoopServer,
    serve,
)
from ._shared import live_machinery

__all__ = ["SERVER_STRATEGIES", "STRATEGIES", "AsyncClient", "AsyncServer", "ServerBase",
           "SyncPoolServer", "SyncStrategyClient", "ThreadLoopClient", "ThreadLoopServer",
           "connect", "live_machinery", "serve"]
