"""Lab 05's helpers (labs/debugtools.py) on real tools and real planted bugs.

The lab itself runs in the site build and in test_learner_copies.py; these tests pin
down the helpers it relies on, so that a capture that goes wrong fails here with a
clear message instead of as a puzzling page. A test whose tool is missing skips,
naming the Debian package.
"""

from __future__ import annotations

import html
import os
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "labs"))

import debugtools  # noqa: E402

needs_gdb = pytest.mark.skipif(not debugtools.find_tool("gdb"),
                               reason="no gdb (apt-get install gdb)")
needs_python_gdb = pytest.mark.skipif(
    debugtools.python_gdb_script() is None,
    reason="no python-gdb.py for this interpreter (apt-get install python3-dbg)")
needs_sanitizers = pytest.mark.skipif(not debugtools.sanitizer_runtimes(),
                                      reason="gcc has no libasan/libubsan")
needs_valgrind = pytest.mark.skipif(not debugtools.find_tool("valgrind"),
                                    reason="no valgrind (apt-get install valgrind)")

STUCK = """
import threading

def blocked_here():
    threading.Event().wait()

print("ready", flush=True)
blocked_here()
"""


@pytest.fixture
def stuck_script(tmp_path):
    # A plain Python program blocked for good in a named function.
    script = tmp_path / "stuck.py"
    script.write_text(STUCK)
    return script


def test_solved_copy_refuses_a_fix_that_no_longer_applies(tmp_path):
    with pytest.raises(ValueError, match="occurs 0 times"):
        debugtools.solved_copy("crashy.c", tmp_path, [("no such passage", "x")])
    with pytest.raises(ValueError, match=r"occurs [2-9] times"):
        debugtools.solved_copy("crashy.c", tmp_path, [("return", "x")])


def test_exercise_copy_keeps_the_learners_edits(tmp_path):
    first = debugtools.exercise_copy("refs.c", tmp_path)
    first.write_text(first.read_text() + "/* my fix */\n")
    again = debugtools.exercise_copy("refs.c", tmp_path)
    assert again == first and again.read_text().endswith("/* my fix */\n")


def test_the_solution_never_lands_in_the_learners_copy(tmp_path):
    learner = debugtools.exercise_copy("gil_hog.c", tmp_path)
    solved = debugtools.solved_copy("gil_hog.c", tmp_path, [("device_wait(seconds);", "x;")])
    assert solved != learner and "device_wait(seconds);" in learner.read_text()


def test_start_stuck_reports_a_program_that_exits_instead_of_blocking(tmp_path):
    script = tmp_path / "quick.py"
    script.write_text("print('ready', flush=True)\n")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"exited|did not block"):
        debugtools.start_stuck(script, tmp_path, deadline=30)
    assert time.monotonic() - started < 30, "it waited out the deadline for a dead process"


@needs_gdb
@needs_python_gdb
def test_gdb_batch_attaches_and_reads_the_python_stack(stuck_script, tmp_path):
    stuck = debugtools.start_stuck(stuck_script, tmp_path)
    try:
        transcript = debugtools.gdb_batch(["py-bt", "info threads"], pid=stuck.pid)
    finally:
        stuck.stop()
    py_bt = debugtools.section(transcript, "py-bt")
    assert "in blocked_here" in py_bt and "threading.Event().wait()" in py_bt, transcript
    assert "Thread debugging using libthread_db" not in transcript, "gdb's noise was kept"
    assert debugtools.section(transcript, "info threads").count("Thread 0x") == 1, transcript


def test_cython_function_names_the_frames_gdb_shows(tmp_path):
    built = debugtools.build("postbox.pyx", tmp_path / "postbox")
    c_file = built / "postbox.c"
    body = debugtools.cython_function(c_file, "Postbox", "get")
    wrapper = debugtools.cython_function(c_file, "Postbox", "get", wrapper=True)
    assert body.startswith("__pyx_pf_") and wrapper.startswith("__pyx_pw_")
    assert body.endswith("get") and wrapper.endswith("get")
    # `frame function NAME` needs the exact symbol: it must be in the shared object.
    so = next(built.glob("postbox*.so"))
    symbols = debugtools.run(["nm", str(so)]).stdout
    assert f" {body}\n" in symbols and f" {wrapper}\n" in symbols, (body, wrapper)


@needs_sanitizers
def test_report_blocks_keeps_the_error_and_our_frames_only(tmp_path):
    built = debugtools.build("textbuf.c", tmp_path / "asan", debugtools.SANITIZE)
    run = debugtools.run_sanitized("import textbuf\ntextbuf.shout('hello')\n", built)
    assert run.returncode != 0, "ASan did not stop on shout's overflow"
    blocks = debugtools.report_blocks(run.stderr, "textbuf.c")
    assert blocks.startswith("ERROR: AddressSanitizer: heap-buffer-overflow"), blocks
    assert "WRITE of size 1" in blocks and "in shout" in blocks, blocks
    assert "_PyEval_EvalFrameDefault" not in blocks, "the interpreter's frames were kept"
    assert "Shadow bytes" not in blocks, blocks


@needs_valgrind
def test_valgrind_sees_the_use_after_free_in_an_unchanged_build(tmp_path):
    built = debugtools.build("textbuf.c", tmp_path / "plain")
    run = debugtools.run_valgrind("import textbuf\ntextbuf.last_word('a b')\n", built)
    blocks = debugtools.report_blocks(run.stderr, "textbuf.c")
    assert run.returncode == 99 and "Invalid read" in blocks and "free'd" in blocks, blocks


def test_debug_interpreter_module_gets_the_debug_suffix(tmp_path):
    python = debugtools.debug_python()
    if python is None:
        pytest.skip("no debug interpreter (apt-get install python3-dbg)")
    built = debugtools.build_for(python, debugtools.debugging_sources() / "refs.c", tmp_path)
    run = debugtools.run([python, "-c", "import refs, sys; print(refs.__file__)"],
                         env=debugtools.python_env(built))
    assert run.returncode == 0 and str(tmp_path) in run.stdout, run.stderr


@needs_gdb
@needs_python_gdb
def test_started_under_gdb_when_attaching_is_refused(stuck_script, tmp_path):
    # The fallback of gdb_on_stuck, taken where ptrace refuses to attach (Yama, or a
    # container without CAP_SYS_PTRACE): run under gdb, interrupt once stuck.
    capture = debugtools._run_under_gdb_until_stuck(stuck_script, tmp_path, ["py-bt"],
                                                    threads=1, linger=0.0, python_gdb=True)
    assert capture.how == "started under gdb" and capture.alive_after_linger
    assert "Program received signal SIGINT" in capture.transcript, capture.transcript
    assert "in blocked_here" in debugtools.section(capture.transcript, "py-bt"), capture.transcript


SITE = Path(os.environ.get("WORKSHOP_BUILD", ROOT / "_build")) / "html"
LAB_PAGE = SITE / "labs" / "05-debugging-native-code.html"


@needs_gdb
@needs_python_gdb
@pytest.mark.skipif(not LAB_PAGE.exists(), reason="site not built: python3 noxw -s docs")
def test_built_page_shows_live_captures():
    """With the tools on this machine, the page holds captures, not the notes in their
    place (a capture cell that silently fell back would pass every other test)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", LAB_PAGE.read_text(encoding="utf-8")))
    assert "not found on this machine" not in text, "a capture was skipped on the page"
    assert re.search(r"\(gdb\) py-bt\s+Traceback \(most recent call first\):\s+"
                     r"File \"\$WORK/stuck_postbox\.py\", line 6, in wait_for_reply", text)
    assert "<postbox.Postbox at remote 0x" in text
    assert "Program terminated with signal SIGSEGV" in text  # the core file, read back
    assert "heap-buffer-overflow" in text and "Invalid write of size 1" in text
    assert "Waiting for the GIL" in text
