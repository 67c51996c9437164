"""Run one exactbn command: in this process (fast) or in a subprocess (hangs, devices)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass

__all__ = ["Result", "run_inprocess", "run_subprocess"]


@dataclass
class Result:
    rc: int | None  # None: no exit status (hang or an exception escaped main)
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    exception: str | None = None  # formatted traceback of an exception that escaped main


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout()


WALL_FACTOR = 4  # in-process: ``timeout`` s of CPU time, or this many times it of wall time


def run_inprocess(argv: list[str], cwd: str, timeout: float) -> Result:
    """exactbn.cli.main.main(argv) with cwd and captured output. A hang is ``timeout`` s of
    CPU time (SIGPROF: a loaded machine does not fake hangs) or WALL_FACTOR x ``timeout`` s
    of wall time (SIGALRM: a blocking read)."""
    from exactbn.cli.main import main

    old_cwd = os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    rc: int | None = None
    exc = None
    timed_out = False
    t0 = time.monotonic()
    old = signal.signal(signal.SIGALRM, _alarm)
    old_prof = signal.signal(signal.SIGPROF, _alarm)
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            signal.setitimer(signal.ITIMER_PROF, timeout)
            signal.setitimer(signal.ITIMER_REAL, timeout * WALL_FACTOR)
            try:
                rc = main(argv)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.setitimer(signal.ITIMER_PROF, 0)
    except _Timeout:
        timed_out = True
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - anything escaping main is a finding
        exc = traceback.format_exc()
    finally:
        signal.signal(signal.SIGALRM, old)
        signal.signal(signal.SIGPROF, old_prof)
        os.chdir(old_cwd)
    return Result(rc, out.getvalue(), err.getvalue(), time.monotonic() - t0, timed_out, exc)


def _limits(max_mem: int | None):
    def pre():
        if max_mem:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (max_mem, max_mem))
    return pre


def run_subprocess(argv: list[str], cwd: str, timeout: float, *,
                   max_mem: int | None = None) -> Result:
    """``python -m exactbn argv`` in cwd; on timeout its whole process group is killed."""
    t0 = time.monotonic()
    env = dict(os.environ, COLUMNS="160", PYTHONHASHSEED="0")
    p = subprocess.Popen([sys.executable, "-m", "exactbn", *argv], cwd=cwd, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True,
                         preexec_fn=_limits(max_mem))
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        for pid in [p.pid, *_descendants(p.pid)]:  # also children in sessions of their own
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        out, err = p.communicate()
        timed_out = True
    return Result(None if timed_out else p.returncode, out.decode(errors="replace"),
                  err.decode(errors="replace"), time.monotonic() - t0, timed_out)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (read from /proc), children first found first."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    out, todo = [], [pid]
    while todo:
        cur = todo.pop()
        kids = [c for c, pp in parent.items() if pp == cur]
        out += kids
        todo += kids
    return out
