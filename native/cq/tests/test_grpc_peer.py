"""The benchmark's peers really echo: grpcio sync and grpc.aio, asyncio streams.

``native/cq/bench/bench_grpc.py`` runs each server in its own process; these
tests start those same servers, check replies byte for byte from both grpc
client stacks, and that a tiny measurement gives positive rates (never how
fast: speed is only compared in the benchmark itself).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("grpc", reason="grpcio is not installed (pip install -r requirements.txt)")

NATIVE = Path(__file__).resolve().parents[2]
BENCH = NATIVE / "cq" / "bench"
pytestmark = pytest.mark.timeout(90)


def _load_bench_grpc():
    # bench/ is not a package; the bench session puts native/ on PYTHONPATH for
    # benchmeta, so do the same here.
    if str(NATIVE) not in sys.path:
        sys.path.insert(0, str(NATIVE))
    spec = importlib.util.spec_from_file_location("bench_grpc", BENCH / "bench_grpc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_grpc = _load_bench_grpc()
PAYLOADS = (b"", b"x", bytes(range(256)), b"\x00" * 70_000)


@pytest.fixture(scope="module", params=bench_grpc.GRPC_SERVERS)
def grpc_server(request):
    """(kind, port) of a grpcio echo server in its own process."""
    with bench_grpc.server(f"grpc-{request.param}") as port:
        yield request.param, port


def test_sync_client_gets_every_payload_back(grpc_server):
    grpc = bench_grpc.grpc
    _, port = grpc_server
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        echo = channel.unary_unary(bench_grpc.METHOD)
        for payload in PAYLOADS:
            assert echo(payload, timeout=10) == payload


def test_aio_client_gets_every_payload_back(grpc_server):
    grpc = bench_grpc.grpc
    _, port = grpc_server

    async def calls():
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            echo = channel.unary_unary(bench_grpc.METHOD)
            return await asyncio.gather(*(echo(p, timeout=10) for p in PAYLOADS))

    assert asyncio.run(calls()) == list(PAYLOADS)


def test_unknown_method_is_unimplemented_not_a_hang(grpc_server):
    grpc = bench_grpc.grpc
    _, port = grpc_server
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        with pytest.raises(grpc.RpcError) as raised:
            channel.unary_unary("/bench.Echo/Nope")(b"x", timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize("client", ["sync", "aio"])
def test_grpc_qps_is_positive(grpc_server, client):
    _, port = grpc_server
    assert bench_grpc.grpc_qps(client, port, 4, 0.05) > 0


@pytest.mark.parametrize("loop_kind", bench_grpc.LOOPS)
def test_streams_peer_echoes_and_measures(loop_kind):
    with bench_grpc.server(loop_kind) as port:

        async def calls():
            client = await bench_grpc.FramedClient.connect(port)
            try:
                return await asyncio.gather(*(client.call(p) for p in PAYLOADS))
            finally:
                await client.close()

        assert bench_grpc._run_on(loop_kind, calls) == list(PAYLOADS)
        assert bench_grpc.streams_qps(loop_kind, port, 4, 0.05) > 0


def test_measure_gives_positive_rates_and_ratios():
    result = bench_grpc.measure(0.02, 1, concurrencies=(1, 2))
    pairs = {(r["client"], r["server"], r["concurrency"]) for r in result["grpc_qps"]}
    assert pairs == {(c, s, n) for c, s in bench_grpc.GRPC_PAIRS for n in (1, 2)}
    assert {r["loop"] for r in result["asyncio_peers"]} == set(bench_grpc.LOOPS)
    for row in result["grpc_qps"] + result["asyncio_peers"]:
        assert row["qps"]["median"] > 0
        assert row["ratio_to_grpc_sync"] > 0
    for row in result["grpc_qps"]:
        if (row["client"], row["server"]) == ("sync", "sync"):
            assert row["ratio_to_grpc_sync"] == 1.0


def test_a_server_kind_that_does_not_exist_fails_clearly():
    with pytest.raises(RuntimeError, match="did not start"):
        with bench_grpc.server("nope"):
            pass
