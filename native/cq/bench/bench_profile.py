"""Where a client call's work goes: instructions per call, by strategy, repeatably.

Wall-clock rates on a shared 2-core machine swing by +-50% from run to run;
instruction counts do not. For every cq.aio strategy at 1 and at 64 calls in
flight, a child process makes N ECHO calls of 16 B against redis-server and
this script reports, per call:

* **instructions** in the client process (every thread), counted by
  ``valgrind --tool=callgrind`` between two markers, so interpreter start-up,
  connecting and warming up are left out: the child calls ``os.getppid()``
  right before the measured calls (``--zero-before=getppid``) and
  ``os.getpgrp()`` right after them (``--dump-before=getpgrp``);
* the same instructions **by object** (libpython, the cq extension, the C
  library and libstdc++, asyncio's C accelerator, ...) and **by bucket**: the
  C++ core, the Cython glue, the C library, and the interpreter's share split
  by the Python module that ran (the asyncio event loop, futures and tasks,
  threads and concurrent.futures, the cq Python driver, this benchmark's own
  loop). Callgrind sees C functions only, so the interpreter's instructions are
  split in proportion to the bytecodes each module executed, counted exactly
  in a second run with ``sys.settrace`` opcode events (an estimate: bytecodes
  differ in cost);
* **system calls** per call, from ``strace -f -c`` (a run with the calls minus
  a run without them), which the instruction counts do not include.

Two peers are profiled the same way, for the targets that compare with them:
redis.asyncio (its ordinary use: ``client.echo()``, hiredis, a pool of 64; its
own Python counts as "other Python"), and redis-benchmark's C client, whose
whole process is counted at two request counts so that the difference gives
its instructions per request.

Valgrind runs one thread at a time: a poller thread never runs beside the
loop's thread here, so these counts show the work, not the overlap.
``bench_cq.py`` stores the rows as the sweep ``profile``; run alone this prints
the table (``--quick``: fewer calls).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ECHO = b"x" * 16
STRATEGIES = ("sync", "iomgr", "callback", "thread_loop", "poller_byte", "poller")
REDIS_ASYNCIO = "redis.asyncio"  # profiled beside the strategies, as in the sweeps
REDIS_POOL = 64
INFLIGHT = (1, 64)
WARMUP = 200  # calls before the measured ones: connections, pools, caches warm

# The buckets, in the order the page stacks them.
BUCKETS = ("asyncio event loop", "futures and tasks", "threads, concurrent.futures",
           "cq Python driver", "benchmark loop", "other Python", "Cython glue",
           "C++ core", "C library, libstdc++")


# ---------------------------------------------------------------- the child


def _python_bucket(filename: str) -> str:
    """The bucket of the Python code in this file."""
    name = filename.replace("\\", "/")
    if "/asyncio/" in name:
        base = name.rsplit("/", 1)[-1]
        if base in ("futures.py", "tasks.py", "locks.py", "queues.py", "base_futures.py",
                    "base_tasks.py", "exceptions.py", "timeouts.py"):
            return "futures and tasks"
        return "asyncio event loop"
    if name.endswith("/selectors.py"):
        return "asyncio event loop"
    if name.endswith("/threading.py") or "/concurrent/" in name or name.endswith("/queue.py"):
        return "threads, concurrent.futures"
    if name.endswith("bench_profile.py"):
        return "benchmark loop"
    if "/cq/" in name:
        return "cq Python driver"
    return "other Python"


class OpcodeCounter:
    """Counts the bytecodes executed per bucket while ``on`` (every thread
    started after install(), so the strategies' worker threads too)."""

    def __init__(self) -> None:
        self.on = False
        self.counts: Counter[str] = Counter()
        self._buckets: dict[str, str] = {}

    def install(self) -> None:
        import threading

        sys.settrace(self._global)
        threading.settrace(self._global)

    def _global(self, frame, event, arg):
        frame.f_trace_opcodes = True
        return self._local

    def _local(self, frame, event, arg):
        if event == "opcode" and self.on:
            filename = frame.f_code.co_filename
            bucket = self._buckets.get(filename)
            if bucket is None:
                bucket = self._buckets[filename] = _python_bucket(filename)
            self.counts[bucket] += 1
        return self._local


async def _calls(client, count: int, inflight: int) -> None:
    left = count

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            reply = await client.call("ECHO", ECHO)
            if reply != ECHO:
                raise AssertionError(f"ECHO answered {reply!r}")

    await asyncio.gather(*(worker() for _ in range(inflight)))


class _RedisAsyncio:
    """redis.asyncio as the sweeps use it (bench_redis): one method per command,
    hiredis, a BlockingConnectionPool of 64; shaped as a cq.aio client."""

    def __init__(self, port: int) -> None:
        import redis.asyncio

        self.pool = redis.asyncio.BlockingConnectionPool(
            host="127.0.0.1", port=port, max_connections=REDIS_POOL)
        self.client = redis.asyncio.Redis(connection_pool=self.pool)

    async def call(self, command: str, value: bytes) -> bytes:
        assert command == "ECHO"
        return await self.client.echo(value)

    async def close(self) -> None:
        await self.client.aclose()
        await self.pool.disconnect()


async def _child(port: int, strategy: str, inflight: int, calls: int,
                 counter: OpcodeCounter | None) -> None:
    import cq.aio
    from bench_aio import SYNC_POOL  # the sync strategy's pool, as in the sweeps

    if strategy == REDIS_ASYNCIO:
        client = _RedisAsyncio(port)
    else:
        client = await cq.aio.connect("127.0.0.1", port, strategy=strategy,
                                      workers=max(SYNC_POOL, inflight))
    try:
        await _calls(client, WARMUP, inflight)
        os.getppid()  # marker: callgrind zeroes its counts here, strace starts counting
        if counter is not None:
            counter.on = True
        await _calls(client, calls, inflight)
        if counter is not None:
            counter.on = False
        os.getpgrp()  # marker: callgrind writes the counts since the first marker
    finally:
        await client.close()


def child_main(args: argparse.Namespace) -> None:
    """Every configuration in turn, each on a fresh loop, in one process: the
    interpreter starts once under valgrind (most of a run's time)."""
    counter = OpcodeCounter() if args.opcodes else None
    if counter is not None:
        counter.install()
    lines = []
    for config in args.configs.split(","):
        strategy, inflight = config.split(":")
        if counter is not None:
            counter.counts.clear()
        asyncio.run(_child(args.port, strategy, int(inflight), args.calls, counter))
        if counter is not None:
            lines.append(json.dumps(dict(counter.counts)))
    if counter is not None:
        Path(args.opcodes).write_text("\n".join(lines))


# ---------------------------------------------------------------- callgrind


def parse_callgrind(path: str) -> Counter[tuple[str, str]]:
    """Self instructions per (object, function) of a callgrind dump."""
    names: dict[str, dict[str, str]] = {"ob": {}, "fn": {}}
    costs: Counter[tuple[str, str]] = Counter()
    ob = fn = ""
    skip_next = False  # the line after calls= is the call's inclusive cost
    define = re.compile(r"^(c?)(ob|fn)=(?:\((\d+)\))?\s*(.*)$")
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                if skip_next:
                    skip_next = False
                    continue
                fields = line.split()
                if len(fields) > 1:
                    costs[ob, fn] += int(fields[1])
                continue
            if line.startswith("calls="):
                skip_next = True
                continue
            m = define.match(line)
            if m is None:
                continue
            called, kind, ident, name = m.groups()
            name = name.strip()
            table = names[kind]
            if ident is not None:
                if name:
                    table[ident] = name
                else:
                    name = table.get(ident, "?")
            if called:
                continue  # cob=/cfn= name the callee of the next calls= line
            if kind == "ob":
                ob = name
            else:
                fn = name
    return costs


def object_group(ob: str) -> str:
    base = os.path.basename(ob)
    if base.startswith("_cq."):
        return "cq extension (_cq)"
    if base.startswith("libpython") or base.startswith("python"):
        return "libpython"
    if base.startswith("_asyncio."):
        return "_asyncio (C futures, tasks)"
    if base.startswith(("libc.", "libc-", "ld-linux", "libstdc++", "libm.", "libgcc",
                        "libpthread")):
        return "C library, libstdc++"
    return "other objects"


def instruction_groups(costs: Counter[tuple[str, str]]) -> tuple[Counter, Counter]:
    """(by object, by C-level bucket): the interpreter's share is one bucket,
    'interpreter', that opcode counts split afterwards."""
    by_object: Counter[str] = Counter()
    by_bucket: Counter[str] = Counter()
    for (ob, fn), cost in costs.items():
        group = object_group(ob)
        by_object[group] += cost
        if group == "cq extension (_cq)":
            by_bucket["Cython glue" if fn.lower().startswith("__pyx") else "C++ core"] += cost
        elif group == "libpython":
            by_bucket["interpreter"] += cost
        elif group == "_asyncio (C futures, tasks)":
            by_bucket["futures and tasks"] += cost
        elif group == "C library, libstdc++":
            by_bucket["C library, libstdc++"] += cost
        elif os.path.basename(ob).startswith(("select.", "_socket.")):
            by_bucket["asyncio event loop"] += cost
        else:
            by_bucket["other Python"] += cost
    return by_object, by_bucket


# ---------------------------------------------------------------- strace


SYSCALL = re.compile(r"^\d+\s+(\w+)\(")


def parse_strace(path: str) -> list[Counter[str]]:
    """System calls (every thread) between each getppid and getpgrp marker of
    an ``strace -f`` log; a call that blocked is counted where it started."""
    windows: list[Counter[str]] = []
    current: Counter[str] | None = None
    for line in Path(path).read_text(errors="replace").splitlines():
        m = SYSCALL.match(line)
        if m is None:
            continue
        name = m.group(1)
        if name == "getppid":
            current = Counter()
        elif name == "getpgrp" and current is not None:
            windows.append(current)
            current = None
        elif current is not None:
            current[name] += 1
    return windows


# ---------------------------------------------------------------- the parent


def _child_command(port: int, configs: list[tuple[str, int]], calls: int) -> list[str]:
    return [sys.executable, os.path.abspath(__file__), "--child", "--port", str(port),
            "--configs", ",".join(f"{s}:{n}" for s, n in configs), "--calls", str(calls)]


def _run(cmd: list[str], timeout: float) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])}... failed ({done.returncode}): "
                           f"{done.stderr.strip()[-800:]}")


def _row(strategy: str, inflight: int, calls: int, costs: Counter,
         ops: dict[str, int], opcode_calls: int, syscalls: Counter | None) -> dict:
    by_object, by_bucket = instruction_groups(costs)
    interpreter = by_bucket.pop("interpreter", 0)
    total_ops = sum(ops.values()) or 1
    for bucket, n in ops.items():
        by_bucket[bucket] += interpreter * n / total_ops
    per = 1 / calls
    return {
        "peer": strategy, "family": "redis-py" if strategy == REDIS_ASYNCIO else "cq.aio",
        "inflight": inflight, "calls": calls,
        "instructions_per_call": sum(by_object.values()) * per,
        "by_object": {k: v * per for k, v in by_object.most_common()},
        "by_bucket": {k: by_bucket.get(k, 0) * per for k in BUCKETS},
        "opcodes_per_call": {k: v / opcode_calls for k, v in sorted(ops.items())},
        "syscalls_per_call": sum(syscalls.values()) * per if syscalls is not None else None,
        "syscalls": ({k: v * per for k, v in syscalls.most_common(6)}
                     if syscalls is not None else None),
    }


def available() -> str | None:
    """None if the profile can run here, else why not."""
    if shutil.which("valgrind") is None:
        return "valgrind not found (apt-get install valgrind): no instruction counts"
    return None


def redis_benchmark_instructions(port: int, pipeline: int, requests: int) -> float | None:
    """Instructions per request of redis-benchmark's C client (``-c 1 -P pipeline``,
    ECHO of 16 B): its whole process counted at ``requests`` and at twice as many,
    the difference divided by ``requests`` (start-up and connecting cancel out).
    None without redis-benchmark."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return None
    counted = []
    with tempfile.TemporaryDirectory(prefix="cq-profile-rb-") as work:
        for n in (requests, 2 * requests):
            out = os.path.join(work, f"cg.{n}")
            _run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                  "--dump-instr=no", binary, "-h", "127.0.0.1", "-p", str(port), "-c", "1",
                  "-P", str(pipeline), "-n", str(n), "-q", "ECHO", ECHO.decode()],
                 timeout=600)
            counted.append(sum(parse_callgrind(out).values()))
    return (counted[1] - counted[0]) / requests


def profile(port: int, *, calls: int, opcode_calls: int,
            strategies: tuple[str, ...] = (*STRATEGIES, REDIS_ASYNCIO),
            inflight: tuple[int, ...] = INFLIGHT, progress=print) -> list[dict]:
    """Every (strategy, calls in flight): three child processes in all, one
    under callgrind, one counting bytecodes, one under strace."""
    configs = [(s, n) for n in inflight for s in strategies]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cq-profile-") as work:
        out = os.path.join(work, "cg.out")
        progress(f"profile: {len(configs)} configurations x {calls} calls under callgrind")
        _run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
              "--zero-before=getppid", "--dump-before=getpgrp", "--dump-instr=no",
              *_child_command(port, configs, calls)], timeout=600)
        dumps = sorted(glob.glob(out + ".*"), key=lambda p: int(p.rsplit(".", 1)[1]))
        if len(dumps) != len(configs):
            raise RuntimeError(f"callgrind wrote {len(dumps)} dumps for {len(configs)} "
                               "configurations (are the getppid/getpgrp markers called?)")
        progress(f"profile: callgrind done [{time.monotonic() - started:.0f} s]; "
                 "counting bytecodes")
        opcodes = os.path.join(work, "opcodes.jsonl")
        _run([*_child_command(port, configs, opcode_calls), "--opcodes", opcodes],
             timeout=600)
        ops = [json.loads(line) for line in Path(opcodes).read_text().splitlines()]
        windows: list[Counter | None] = [None] * len(configs)
        if shutil.which("strace"):
            progress(f"profile: [{time.monotonic() - started:.0f} s] counting system calls")
            trace = os.path.join(work, "strace.txt")
            _run(["strace", "-f", "-o", trace, *_child_command(port, configs, calls)],
                 timeout=600)
            found = parse_strace(trace)
            if len(found) == len(configs):
                windows = found
        rows = [_row(s, n, calls, parse_callgrind(dump), op, opcode_calls, window)
                for (s, n), dump, op, window in zip(configs, dumps, ops, windows,
                                                     strict=True)]
    for n in inflight:
        progress(f"profile: [{time.monotonic() - started:.0f} s] redis-benchmark -c 1 -P {n}")
        per_request = redis_benchmark_instructions(port, n, 20 * calls)
        if per_request is not None:
            rows.append({"peer": "redis-benchmark", "family": "C client", "inflight": n,
                         "calls": 20 * calls, "instructions_per_call": per_request})
    for row in rows:
        progress(_line(row))
    progress(f"profile: {time.monotonic() - started:.0f} s in all")
    return rows


def _line(row: dict) -> str:
    if "by_bucket" not in row:  # a C client: its whole process, no breakdown
        return (f"profile {row['peer']:11} x{row['inflight']:<3} "
                f"{row['instructions_per_call']:9,.0f} instr/call")
    b = row["by_bucket"]
    python = sum(b[k] for k in BUCKETS[:6])
    sys_calls = row["syscalls_per_call"]
    return (f"profile {row['peer']:11} x{row['inflight']:<3} "
            f"{row['instructions_per_call']:9,.0f} instr/call  (Python {python:7,.0f}, "
            f"Cython {b['Cython glue']:6,.0f}, core {b['C++ core']:6,.0f}, "
            f"libc {b['C library, libstdc++']:6,.0f}; "
            + (f"{sys_calls:.2f} syscalls/call" if sys_calls is not None else "no strace")
            + ")")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls, for checks")
    parser.add_argument("--strategy", action="append", help="only these (repeatable)")
    parser.add_argument("--inflight", type=int, action="append", help="only these")
    parser.add_argument("--calls", type=int, help="measured calls under callgrind")
    parser.add_argument("--into", metavar="JSON",
                        help="store the rows as the sweep 'profile' of this cq-bench JSON "
                             "(docs/benchmarks/results/cq.json), leaving the rest as it is")
    parser.add_argument("--as-baseline", metavar="LABEL",
                        help="with --into: store them as the profile's baseline (the "
                             "'before' the page compares with), labelled LABEL")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--configs", help=argparse.SUPPRESS)
    parser.add_argument("--opcodes", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return
    import bench_redis

    problem = available()
    if problem:
        sys.exit(problem)
    binary = bench_redis.binaries()["redis-server"]
    if binary is None:
        sys.exit("redis-server not found (apt-get install redis-server)")
    calls = args.calls or (QUICK_CALLS if args.quick else CALLS)
    with bench_redis.redis_server(binary) as port:
        rows = profile(port, calls=calls, opcode_calls=min(calls, OPCODE_CALLS),
                       strategies=tuple(args.strategy or (*STRATEGIES, REDIS_ASYNCIO)),
                       inflight=tuple(args.inflight or INFLIGHT))
    if args.into:
        store(args.into, rows, args.as_baseline)


def store(path: str, rows: list[dict], baseline: str | None) -> None:
    """Put the rows into a cq-bench JSON: its sweep 'profile', or that sweep's
    baseline. The profile carries its own date: it may be newer than the rates."""
    import datetime

    data = json.loads(Path(path).read_text())
    sweep = data["sweeps"].setdefault(
        "profile", {"title": "instructions and system calls per call (callgrind, strace)",
                    "x": "inflight", "rows": []})
    measured = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
                "rows": rows}
    if baseline:
        sweep["baseline"] = {"label": baseline, **measured}
    else:
        sweep.update(measured)
    Path(path).write_text(json.dumps(data, indent=2) + "\n")


CALLS, QUICK_CALLS, OPCODE_CALLS = 1024, 256, 256

if __name__ == "__main__":
    main()
