"""Small helpers the labs share: where to put build products, and how to compile a
one-file C extension by hand exactly as lab 01 teaches (so later labs can do it in
one line once the learner has seen every flag).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path


def workdir(lab: str) -> Path:
    """A scratch folder for one lab's files, outside the repository.

    nox sets WORKSHOP_BUILD (normally _build/), so a site build keeps everything
    under it; a notebook opened elsewhere falls back to the system's temp dir.
    """
    base = Path(os.environ.get("WORKSHOP_BUILD") or Path(tempfile.gettempdir()) / "workshop")
    path = base / "labs" / lab
    path.mkdir(parents=True, exist_ok=True)
    return path


def repo_root() -> Path:
    """The workshop repository (the folder holding native/ and noxfile.py).

    Found from the current folder or this file, walking up, so a lab works both in
    labs/ and as a learner's copy under _build/student/; WORKSHOP_ROOT (set by the
    nox sessions) wins, for copies written outside the repository.
    """
    if os.environ.get("WORKSHOP_ROOT"):
        return Path(os.environ["WORKSHOP_ROOT"]).resolve()
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            if (folder / "native").is_dir() and (folder / "noxfile.py").is_file():
                return folder
    raise RuntimeError("cannot find the workshop repository from here: "
                       "set WORKSHOP_ROOT to the folder that holds native/")


def compile_command(source: Path, module: str, extra_flags: tuple[str, ...] = ()) -> list[str]:
    """The compiler command a build backend would run for a one-file extension."""
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    output = source.with_name(module + sysconfig.get_config_var("EXT_SUFFIX"))
    # macOS links an extension without libpython: its Python symbols are resolved when
    # the interpreter loads it (sysconfig's LDSHARED says the same). Untested here.
    macos = ["-undefined", "dynamic_lookup"] if sys.platform == "darwin" else []
    return [
        *cc,
        "-shared", "-fPIC", *macos, "-O2", "-Wall", "-Wextra",
        # The C API's own idioms (unused `self`, positional PyModuleDef) trip these two.
        "-Wno-unused-parameter", "-Wno-missing-field-initializers",
        f"-I{sysconfig.get_paths()['include']}",
        *extra_flags,
        str(source), "-o", str(output),
    ]


def compile_extension(source: Path, module: str, extra_flags: tuple[str, ...] = (),
                      show: bool = True) -> Path:
    """Compile `source` into an importable module named `module`, beside the source.

    Raises RuntimeError with the compiler's own messages when compilation fails, so
    a learner's typo shows as the compiler reported it.
    """
    cmd = compile_command(source, module, extra_flags)
    if show:
        print("$", shlex.join(cmd))
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the compiler failed (exit {done.returncode}):\n{done.stderr}")
    if done.stderr.strip():
        print(done.stderr)
    return Path(cmd[-1])


def run_python(code: str, path: Path, timeout: float = 60,
               env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter with `path` first on sys.path.

    A fresh process, because a module built by hand cannot be reloaded into a running
    interpreter, and because a buggy extension may crash the interpreter that runs it.
    `env` changes the child's environment: a value of None removes the variable, so a
    lab can control what it depends on (PYTHONUNBUFFERED changes C's stdio buffering).
    """
    child_env = {**os.environ, "PYTHONPATH": str(path)}
    for name, value in (env or {}).items():
        if value is None:
            child_env.pop(name, None)
        else:
            child_env[name] = value
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=child_env, timeout=timeout)


def run_with_deadline(function, seconds: float, what: str):
    """Call function() in a worker thread; return its result, re-raise its exception,
    or raise AssertionError saying `what` did not finish within `seconds`.

    A learner's exercise may block forever (a wait with no deadline); run under this
    watchdog, the hang becomes a message and the kernel stays usable. The worker is a
    daemon thread: if it never returns, it cannot keep the interpreter alive at exit.
    """
    import threading

    outcome: dict[str, object] = {}

    def worker() -> None:
        try:
            outcome["result"] = function()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=worker, name="watchdog-worker", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"{what} did not finish within {seconds:g} s: something in it "
                             "waits with no deadline (the cell was stopped by a watchdog)")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("result")


def run_check(code: str, path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """run_python() for an exercise's check: a child that outlives `timeout` (a
    learner's infinite loop, a wait with no deadline) becomes an AssertionError that
    says so, instead of a TimeoutExpired traceback."""
    try:
        return run_python(code, path, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"your code did not finish within {timeout:g} s and was stopped: "
                             "does a loop never end, or does something wait for ever?") from None


def ratio_axis(ax, ratios) -> None:
    """Make the x axis of a horizontal bar chart of ratios say what the ratios mean.

    Log scale, so 0.5x and 2x sit at the same distance from 1x and a 1.2x bar does
    not look like a 50x one's neighbour; a line at 1x ("no change"); ticks written
    as 0.5x, 1x, 2x; and each bar labelled with its value.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ratios = list(ratios)
    low, high = min(min(ratios) / 1.5, 0.5), max(ratios) * 3
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
             if low <= t <= high]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
    ax.axvline(1, color="black", linewidth=0.8)
    for y, value in enumerate(ratios):
        ax.annotate(f"{value:.1f}x" if value >= 1.95 else f"{value:.2f}x", (value, y),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=9)


# --- Counting what a server process does, from outside (Linux /proc) -------------------
#
# A rate moves with everything else the machine runs; a count per request moves only
# when the program does something else. The kernel keeps these per thread:
# `schedstat` (CPU time, ns), `status` (voluntary context switches: how often the thread
# went to sleep) and `io` (read() and write() system calls; not recv()/send() on a
# socket, which take another path in the kernel).


def thread_counters(pid: int) -> dict[int, dict[str, int]]:
    """Counters of each live thread of process `pid`, by thread id: ``cpu_ns``,
    ``sleeps`` (voluntary context switches), ``reads`` and ``writes`` (read() and
    write() system calls). Linux only: raises OSError where /proc has no tasks."""
    import re

    counters = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            schedstat = (task / "schedstat").read_text().split()
            status = (task / "status").read_text()
            io = dict(line.split(": ") for line in (task / "io").read_text().splitlines())
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended while we read it
        sleeps = re.search(r"^voluntary_ctxt_switches:\s*(\d+)", status, flags=re.M)
        counters[int(task.name)] = {"cpu_ns": int(schedstat[0]), "sleeps": int(sleeps.group(1)),
                                    "reads": int(io["syscr"]), "writes": int(io["syscw"])}
    return counters


def counted_between(before: dict, after: dict) -> dict[int, dict[str, int]]:
    """What each thread alive at both snapshots did in between (after - before)."""
    return {tid: {name: after[tid][name] - value for name, value in counts.items()}
            for tid, counts in before.items() if tid in after}


def pipelined_gets(port: int, requests: int, clients: int = 50, pipeline: int = 16,
                   timeout: float = 60) -> float:
    """A small stand-in for ``redis-benchmark -c clients -P pipeline -t get -n requests``
    where redis-tools is not installed: `clients` connections, each sending `pipeline`
    GETs at once and waiting for all their replies before the next batch. Returns
    requests per second. Replies are counted by their line ends (a 3-byte bulk string
    is two lines), which holds for the lab's server only."""
    import selectors
    import socket
    import time

    batch = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n" * pipeline
    rounds = [requests // clients + (i < requests % clients) for i in range(clients)]
    selector = selectors.DefaultSelector()
    start = time.perf_counter()
    for left in rounds:
        if left:
            sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            sent = min(pipeline, left)
            sock.sendall(batch[: len(batch) // pipeline * sent])
            # state: requests left to send, replies awaited, line ends seen of those
            selector.register(sock, selectors.EVENT_READ, [left - sent, sent, 0])
    while selector.get_map():
        ready = selector.select(timeout)
        if not ready:
            raise TimeoutError(f"the server sent no reply for {timeout} s")
        for key, _ in ready:
            state = key.data
            data = key.fileobj.recv(65536)
            if not data:
                raise ConnectionError("the server closed a connection")
            state[2] += data.count(b"\n")
            if state[2] < 2 * state[1]:
                continue
            if state[0] == 0:
                selector.unregister(key.fileobj)
                key.fileobj.close()
                continue
            sent = min(pipeline, state[0])
            key.fileobj.sendall(batch[: len(batch) // pipeline * sent])
            state[:] = [state[0] - sent, sent, 0]
    return requests / (time.perf_counter() - start)
