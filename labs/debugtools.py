"""Lab 05's helpers: find the debugging tools, build the planted-bug modules with
the flags each tool wants, run gdb, sanitizers and valgrind with a time limit, and
keep their reports short enough to read.

Every tool is optional: `find_tool` returns None when it is missing, and the lab
prints `missing(...)` (what to install) in place of that capture. Every child
process runs with a timeout, so a capture can fail but never hang the page.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import labtools

TIMEOUT = 90  # seconds for any one tool run (valgrind starting Python is the slowest)

# What each tool is called on the page, and the Debian package that provides it.
PACKAGES = {
    "gdb": ("gdb", "gdb"),
    "valgrind": ("valgrind", "valgrind"),
    "python-gdb": ("CPython's gdb extension (python-gdb.py) for this interpreter",
                   "python3-dbg (for Debian's own Python; a Python built from source "
                   "installs python3.X-gdb.py beside its binary)"),
    "debug-python": ("a debug interpreter (sys.gettotalrefcount)", "python3-dbg"),
    "asan": ("the ASan and UBSan runtimes (libasan, libubsan)", "gcc (build-essential)"),
}


def debugging_sources() -> Path:
    """native/debugging: the planted-bug modules."""
    return labtools.repo_root() / "native" / "debugging"


# Long scratch-folder paths make captures wrap; the lab shows them as a short name.
_ALIASES: list[tuple[str, str]] = []


def alias_path(path: Path, name: str) -> None:
    """Show `path` as `name` in what `readable` returns (the lab says so once)."""
    _ALIASES.append((str(path), name))


def readable(text: str) -> str:
    for path, name in _ALIASES:
        text = text.replace(path, name)
    return text


def find_tool(name: str) -> str | None:
    return shutil.which(name)


def missing(what: str) -> str:
    """The sentence a lab prints in place of a capture whose tool is absent."""
    name, package = PACKAGES.get(what, (what, what))
    return (f"[{name}: not found on this machine, so this capture is skipped. "
            f"On Debian/Ubuntu: apt-get install {package}]")


# --- the interpreter and its gdb extension --------------------------------------------


def real_interpreter() -> Path:
    """The interpreter binary itself: a venv's python is a symlink, pyenv adds shims.

    gdb, LD_PRELOAD and valgrind must reach the ELF binary, not a script that execs it.
    """
    return Path(os.path.realpath(sys.executable))


def python_gdb_script() -> Path | None:
    """CPython's gdb extension (python-gdb.py, alias libpython.py) for this interpreter.

    A Python built from source (pyenv, python.org) installs it beside the binary as
    `<binary>-gdb.py`; Debian ships it with python3-dbg under gdb's auto-load folder,
    for its own python3.X. The struct layouts it reads are those of one minor version,
    so any copy for the same major.minor works (checked by the lab: py-bt must work).
    """
    binary = real_interpreter()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        binary.with_name(binary.name + "-gdb.py"),
        binary.with_name(f"python{version}-gdb.py"),
        Path(f"/usr/share/gdb/auto-load/usr/bin/python{version}-gdb.py"),
        Path(f"/usr/share/gdb/auto-load/usr/bin/python{version}d-gdb.py"),
    ]
    return next((path for path in candidates if path.is_file()), None)


# --- building the planted-bug modules -------------------------------------------------


def build(source_name: str, out_dir: Path, flags: tuple[str, ...] = ("-g", "-O0"),
          source: Path | None = None) -> Path:
    """Copy native/debugging/<source_name> (or `source`) into out_dir and build it there.

    A C file is compiled as lab 01 does; a Cython .pyx is first translated to C. -g
    keeps the line numbers and variable names a debugger shows; -O0 keeps every
    variable alive (an optimised build says `<optimized out>`). Returns the folder,
    ready for PYTHONPATH.
    """
    source = source or debugging_sources() / source_name
    out_dir.mkdir(parents=True, exist_ok=True)
    copy = out_dir / source.name
    if copy.resolve() != source.resolve():
        shutil.copyfile(source, copy)
    module = copy.stem
    extra = list(flags)
    if copy.suffix == ".pyx":
        # --gdb also writes cython_debug/, the map cygdb reads from C to Cython lines.
        done = subprocess.run([sys.executable, "-m", "cython", "-3", "--gdb", copy.name,
                               "-o", f"{module}.c"], cwd=out_dir, capture_output=True,
                              text=True, timeout=TIMEOUT)
        if done.returncode != 0:
            raise RuntimeError(f"Cython failed:\n{done.stdout}{done.stderr}")
        copy = out_dir / f"{module}.c"
        extra.append("-pthread")
    labtools.compile_extension(copy, module, tuple(extra), show=False)
    return out_dir


def exercise_copy(source_name: str, work: Path) -> Path:
    """The learner's copy of a planted-bug file, made once and then left alone.

    It lives in <work>/exercise/, which nothing else writes: edit it, run the check.
    Delete it to start again from the original.
    """
    target = work / "exercise" / source_name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(debugging_sources() / source_name, target)
    return target


def solved_copy(source_name: str, work: Path, fixes: list[tuple[str, str]]) -> Path:
    """A fixed copy of a planted-bug file, in <work>/solution/ (not the learner's copy).

    Each fix replaces one exact passage, which must occur once: a fix that no longer
    applies fails loudly instead of checking an unfixed file.
    """
    text = (debugging_sources() / source_name).read_text()
    for old, new in fixes:
        count = text.count(old)
        if count != 1:
            raise ValueError(f"{source_name}: the passage to fix occurs {count} times: {old!r}")
        text = text.replace(old, new)
    target = work / "solution" / source_name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


# --- running things -------------------------------------------------------------------


def python_env(path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(path), "PYTHONUNBUFFERED": "1", **extra}


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = TIMEOUT, **kwargs) -> subprocess.CompletedProcess:
    """A child process with its output as text, killed after `timeout` seconds."""
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, errors="replace", **kwargs)


@dataclass
class Stuck:
    """A program started in the background and left to get stuck (parts 1 and 5)."""

    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=TIMEOUT)


def start_stuck(script: Path, path: Path, ready: str = "ready",
                threads: int = 1, deadline: float = 60) -> Stuck:
    """Start `script` and return once it printed `ready` and has `threads` threads
    all asleep in the kernel (it is then stuck where it will stay).

    Polls /proc for the condition up to `deadline` seconds instead of sleeping a
    guessed time, so a slow machine waits longer and a fast one does not wait at all.
    """
    process = subprocess.Popen([str(real_interpreter()), str(script)], env=python_env(path),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stuck = Stuck(process)
    try:
        line = _read_line(process, deadline)
        if ready not in line:
            raise RuntimeError(f"{script.name} did not print {ready!r}: {line!r}")
        until = time.monotonic() + deadline
        calm = 0
        while time.monotonic() < until:
            states = _thread_states(process.pid)
            # Asleep three polls in a row: not just a pause between two bytecodes.
            calm = calm + 1 if len(states) >= threads and set(states) == {"S"} else 0
            if calm >= 3:
                return stuck
            if process.poll() is not None:
                raise RuntimeError(f"{script.name} exited with status {process.returncode}")
            time.sleep(0.1)
        raise RuntimeError(f"{script.name} did not block within {deadline} s: {states}")
    except BaseException:
        stuck.stop()
        raise


def _read_line(process: subprocess.Popen, deadline: float) -> str:
    """One line of the child's output, or "" if none comes within `deadline` seconds."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=deadline):
            return ""
    return process.stdout.readline()


def _thread_states(pid: int) -> list[str]:
    """The scheduler state (R running, S sleeping...) of each thread of `pid`."""
    states = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        states.append(stat.rsplit(")", 1)[1].split()[0])
    return states


# --- gdb ------------------------------------------------------------------------------

# Lines gdb prints about itself, not about the program: dropped from captures.
GDB_NOISE = re.compile(
    r"^\[(Thread debugging|New Thread|Thread 0x.* exited|Inferior \d+ .*(detached|killed))"
    r"|^Using host libthread_db|^warning: (could not find|Unable to find|Error disabling)"
    r"|^warning: (target file /proc/\d+/cmdline|Memory read failed)"
    r"|^\[New LWP|^Download failed|^\d+\s+(in )?\.{1,2}/"  # a glibc source line gdb cannot show
)


ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def gdb_args(commands: list[str], *, pid: int | None = None, program: list[str] | None = None,
             core: Path | None = None, python_gdb: bool = True) -> list[str]:
    """The gdb command line for a batch session on a process (`pid`), a program to
    start, or a core file.

    Each command's output follows a `(gdb) command` line, as in an interactive
    session. CPython's gdb extension is loaded explicitly (auto-loading would need a
    safe-path setting in the user's ~/.gdbinit).
    """
    args = ["gdb", "-nx", "-q", "-batch",
            "-iex", "set auto-load python-scripts off",  # we load it ourselves below
            "-iex", "set debuginfod enabled off",  # never download symbols mid-build
            "-ex", "set pagination off", "-ex", "set width 0", "-ex", "set confirm off",
            "-ex", "set print thread-events off"]
    script = python_gdb_script() if python_gdb else None
    if script:
        args += ["-ex", f"source {script}"]
    for command in commands:
        echo = command.replace("\\", "\\\\").replace('"', '\\"')
        args += ["-ex", f'echo (gdb) {echo}\\n', "-ex", command]
    if pid is not None:
        args[1:1] = ["-p", str(pid)]
        args += ["-ex", "detach"]
    elif core is not None:
        args[1:1] = [str(real_interpreter()), str(core)]
    elif program is not None:
        args += ["--args", *program]
    return args


def clean_transcript(text: str) -> str:
    text = ANSI_COLOUR.sub("", text)  # Cython's `cy` commands colour their output
    return "\n".join(line for line in text.splitlines() if not GDB_NOISE.search(line))


def gdb_batch(commands: list[str], *, env: dict[str, str] | None = None,
              timeout: float = TIMEOUT, **target) -> str:
    """Run gdb in batch mode (see `gdb_args`) and return its cleaned transcript."""
    done = run(gdb_args(commands, **target), env=env, timeout=timeout)
    return clean_transcript(done.stdout + done.stderr)


# What gdb says when the kernel refuses to let it attach to a process that is not its
# child: Yama's ptrace_scope >= 1, or a container without CAP_SYS_PTRACE.
ATTACH_REFUSED = re.compile(r"ptrace: Operation not permitted|Could not attach to process")


@dataclass
class StuckCapture:
    transcript: str
    how: str  # "attached" (gdb -p) or "started under gdb" (run, then Ctrl-C)
    alive_after_linger: bool
    captured_at: float  # time.time() when gdb looked


def gdb_on_stuck(script: Path, path: Path, commands: list[str], *, threads: int = 1,
                 linger: float = 0.0, python_gdb: bool = True) -> StuckCapture:
    """Let `script` get stuck, wait `linger` more seconds, then look at it with gdb.

    First as one debugs a hung test: attach to the running process (`gdb -p PID`). If
    the kernel does not allow that, as the talk's slide does instead: start it under
    gdb (`run`), interrupt it once it is stuck (Ctrl-C is SIGINT), and run the
    commands; gdb is then the program's parent, which ptrace always allows.
    """
    stuck = start_stuck(script, path, threads=threads)
    try:
        time.sleep(linger)
        alive = stuck.process.poll() is None
        transcript = gdb_batch(commands, pid=stuck.pid, python_gdb=python_gdb)
        captured_at = time.time()
    finally:
        stuck.stop()
    if not ATTACH_REFUSED.search(transcript):
        return StuckCapture(transcript, "attached", alive, captured_at)
    return _run_under_gdb_until_stuck(script, path, commands, threads, linger, python_gdb)


def _run_under_gdb_until_stuck(script: Path, path: Path, commands: list[str], threads: int,
                               linger: float, python_gdb: bool) -> StuckCapture:
    args = gdb_args(["run", *commands, "kill"], program=[str(real_interpreter()), str(script)],
                    python_gdb=python_gdb)
    gdb = subprocess.Popen(args, env=python_env(path), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace")
    try:
        inferior = _wait_stuck_child(gdb.pid, script, threads, deadline=60)
        time.sleep(linger)
        alive = _thread_states(inferior) != []
        os.kill(inferior, signal.SIGINT)  # what Ctrl-C in gdb's terminal sends
        captured_at = time.time()
        output, _ = gdb.communicate(timeout=TIMEOUT)
    finally:
        if gdb.poll() is None:
            gdb.kill()
            gdb.wait(timeout=TIMEOUT)
    return StuckCapture(clean_transcript(output), "started under gdb", alive, captured_at)


def _wait_stuck_child(parent: int, script: Path, threads: int, deadline: float) -> int:
    """The pid of `parent`'s child running `script`, once all its threads sleep."""
    until = time.monotonic() + deadline
    calm = 0
    while time.monotonic() < until:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmdline = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == parent and str(script).encode() in cmdline:
                states = _thread_states(int(stat.parent.name))
                calm = calm + 1 if len(states) >= threads and set(states) == {"S"} else 0
                if calm >= 3:
                    return int(stat.parent.name)
        time.sleep(0.1)
    raise RuntimeError(f"{script.name} did not get stuck under gdb within {deadline} s")


def cython_function(c_file: Path, cls: str, method: str, wrapper: bool = False) -> str:
    """The C name Cython gave a method: `__pyx_pw_...` (the Python-facing wrapper, whose
    `self` is a PyObject the python-gdb extension can print) or `__pyx_pf_...` (the
    body, whose `self` is the C struct and whose locals are the method's variables)."""
    kind = "pw" if wrapper else "pf"
    found = re.search(rf"\b__pyx_{kind}_\w*?\d+{cls}_\d+{method}\b", c_file.read_text())
    if not found:
        raise LookupError(f"no __pyx_{kind} function for {cls}.{method} in {c_file}")
    return found.group(0)


def section(transcript: str, command: str, max_lines: int = 40) -> str:
    """The output of one command of a gdb transcript (with its `(gdb)` line)."""
    lines = transcript.splitlines()
    marker = f"(gdb) {command}"
    try:
        start = lines.index(marker)
    except ValueError:
        return ""
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("(gdb) ")),
               len(lines))
    return readable("\n".join(shorten(lines[start:end], max_lines)))


def shorten(lines: list[str], max_lines: int) -> list[str]:
    if len(lines) <= max_lines:
        return lines
    head = max_lines - 3
    return [*lines[:head], f"    ... ({len(lines) - head - 2} lines left out)", *lines[-2:]]


# --- sanitizers and valgrind ----------------------------------------------------------


def sanitizer_runtimes() -> list[str] | None:
    """libasan and libubsan of the compiler, for LD_PRELOAD (None when gcc lacks them)."""
    found = []
    for lib in ("libasan.so", "libubsan.so"):
        try:
            path = run(["gcc", f"-print-file-name={lib}"], timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
        if not os.path.isabs(path) or not Path(path).exists():
            return None
        found.append(path)
    return found


SANITIZE = ("-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O0")


def run_sanitized(code: str, path: Path) -> subprocess.CompletedProcess:
    """Run `code` in the real interpreter with the sanitizer runtimes preloaded.

    The recipe of noxfile.py's cq-asan session: the interpreter was not built with
    ASan, so its runtime must be loaded first (LD_PRELOAD); PYTHONMALLOC=malloc routes
    every Python allocation through malloc, where ASan sees it; leak reports off, since
    CPython keeps objects alive until exit on purpose.
    """
    env = python_env(path, LD_PRELOAD=" ".join(sanitizer_runtimes() or []),
                     PYTHONMALLOC="malloc",
                     ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
                     UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    return run([str(real_interpreter()), "-c", code], env=env)


def run_valgrind(code: str, path: Path) -> subprocess.CompletedProcess:
    """Run `code` under valgrind memcheck (with PYTHONMALLOC=malloc, as cq-valgrind)."""
    supp = labtools.repo_root() / "native" / "cq" / "tests" / "valgrind-python.supp"
    cmd = ["valgrind", "--tool=memcheck", "--error-exitcode=99", "--leak-check=no",
           "--num-callers=8", *([f"--suppressions={supp}"] if supp.is_file() else []),
           str(real_interpreter()), "-c", code]
    return run(cmd, env=python_env(path, PYTHONMALLOC="malloc"), timeout=180)


# A line that opens an error (or one of its parts) in an ASan, UBSan or valgrind report.
REPORT_HEADER = re.compile(
    r"ERROR: AddressSanitizer|runtime error:|^(READ|WRITE) of size|Invalid (read|write)"
    r"|is located|Address 0x\w+ is|(freed|allocated) by thread|Block was alloc'd")
REPORT_FRAME = re.compile(r"^\s*(#\d+ |at 0x|by 0x)")


def report_blocks(report: str, keep: str) -> str:
    """The part of a sanitizer or valgrind report a reader needs, for each distinct
    error whose stack passes through `keep` (our file name): the error line, then
    each stack down to the first frame in our file (the rest is the interpreter)."""
    errors: list[list[str]] = []
    frames_left = False
    for raw in report.splitlines():
        line = re.sub(r"^==\d+== ?", "", raw).rstrip()
        if REPORT_HEADER.search(line):
            if line.startswith(("ERROR:", "Invalid")) or "runtime error:" in line:
                errors.append([])
            if errors:
                errors[-1].append(line)
                frames_left = True
        elif errors and frames_left and REPORT_FRAME.match(line):
            errors[-1].append(line)
            if keep in line:
                errors[-1].append("    ...")
                frames_left = False  # below our frame: the interpreter calling us
        elif not line.strip():
            frames_left = False
    seen: set[str] = set()
    out: list[str] = []
    for error in errors:
        ours = [line for line in error if keep in line]
        key = f"{error[0].split(' on address')[0].split(' at 0x')[0]} {ours[:1]}"
        if ours and key not in seen:
            seen.add(key)
            out += [*error, ""]
    return readable("\n".join(out).rstrip())


# --- a debug interpreter --------------------------------------------------------------


def debug_python() -> str | None:
    """A debug build of CPython (it has sys.gettotalrefcount), same version first.

    Debian's python3-dbg installs /usr/bin/python3.X-dbg (alias python3.Xd). A
    module must be compiled for it separately: its ABI differs (suffix ...d...).
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for name in (f"python{version}-dbg", f"python{version}d", "python3-dbg", "python3d"):
        found = shutil.which(name)
        if found:
            check = run([found, "-c", "import sys; print(hasattr(sys, 'gettotalrefcount'))"],
                        timeout=30)
            if check.stdout.strip() == "True":
                return found
    return None


def build_for(python: str, source: Path, out_dir: Path) -> Path:
    """Compile a one-file C extension for another interpreter (its own headers, CC,
    flags and suffix, asked of that interpreter), into out_dir."""
    query = ("import json, sysconfig; print(json.dumps([sysconfig.get_config_var('CC'), "
             "sysconfig.get_paths()['include'], sysconfig.get_config_var('EXT_SUFFIX')]))")
    cc, include, suffix = json.loads(run([python, "-c", query], timeout=30).stdout)
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / (source.stem + suffix)
    cmd = [*shlex.split(cc), "-shared", "-fPIC", "-g", "-O0", f"-I{include}",
           str(source), "-o", str(output)]
    done = run(cmd)
    if done.returncode != 0:
        raise RuntimeError(f"the compiler failed for {python}:\n{done.stderr}")
    return out_dir


# --- core files -----------------------------------------------------------------------


def core_pattern() -> str:
    try:
        return Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError:
        return ""


def allow_core_files() -> None:
    """preexec_fn for a child that may dump core: lift RLIMIT_CORE to its hard limit.

    Shells start with `ulimit -c 0` on most systems, so by default no core is written.
    """
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def crash_with_core(argv: list[str], path: Path, folder: Path
                    ) -> tuple[subprocess.CompletedProcess, Path | None]:
    """Run `argv` (expected to crash) in `folder` with core files allowed; return the
    run and the core file the kernel wrote there, if it did.

    The kernel writes `core` (or `core.<pid>`) in the crashing process's folder only
    when /proc/sys/kernel/core_pattern is a plain name; a pattern starting with `|`
    hands the core to a program (systemd-coredump, apport) instead.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("core*"):
        old.unlink()
    done = run(argv, env=python_env(path), cwd=folder, preexec_fn=allow_core_files)
    pattern = core_pattern()
    if not pattern or pattern.startswith("|"):
        return done, None
    until = time.monotonic() + 30  # the kernel may still be writing after the exit status
    while time.monotonic() < until:
        cores = sorted(folder.glob("core*"))
        if cores and _core_complete(cores[0]):
            return done, cores[0]
        time.sleep(0.2)
    return done, None


def _core_complete(core: Path) -> bool:
    size = core.stat().st_size
    time.sleep(0.2)
    return size > 0 and core.stat().st_size == size


def gcore_at_crash(argv: list[str], path: Path, core: Path) -> str:
    """Run `argv` under gdb and let gdb write the core at the crash (generate-core-file):
    the same file the kernel would have written, whatever core_pattern says."""
    if core.exists():
        core.unlink()
    return gdb_batch(["run", f"generate-core-file {core}", "kill"],
                     program=argv, env=python_env(path))


def signal_name(status: int) -> str:
    return signal.Signals(-status).name if status < 0 else f"exit status {status}"
