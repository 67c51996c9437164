"""Run a list of cases (optionally in worker processes) with a progress bar; save repros."""

from __future__ import annotations

import multiprocessing as mp
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fuzz.cases import Case
from fuzz.classify import BAD
from fuzz.execute import execute
from fuzz.report import save_repro

__all__ = ["run_cases"]

_STATE: dict = {}


def _init(work: str, repro: str) -> None:
    _STATE.update(work=work, repro=Path(repro))


def _one(case: Case):
    (_STATE["repro"].parent / "current.txt").write_text(f"{case.id} {case.group} {case.argv}\n")
    oc, box = execute(case, _STATE["work"], keep=True)
    if any(c in BAD for c in oc.classes):
        oc._repro = str(save_repro(oc, box, _STATE["repro"]))
    box.remove()
    return oc


def run_cases(cases: list[Case], out: Path, *, jobs: int = 1, quiet: bool = False) -> tuple:
    """(outcomes, seconds). Sandboxes live in out/work, repros in out/repro."""
    work, repro = out / "work", out / "repro"
    shutil.rmtree(repro, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    repro.mkdir(parents=True, exist_ok=True)
    console = Console(stderr=True, width=120)
    counts: Counter = Counter()
    outcomes = []
    t0 = time.monotonic()
    cols = (TextColumn("fuzz"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[bad]}"))
    with Progress(*cols, console=console, disable=quiet or not console.is_terminal) as prog:
        task = prog.add_task("fuzz", total=len(cases), bad="")
        step = max(1, len(cases) // 20)

        def done(oc):
            outcomes.append(oc)
            counts[oc.classes[0]] += 1
            bad = " ".join(f"{c} {counts[c]}" for c in BAD if counts[c])
            prog.update(task, advance=1, bad=bad or "no bad outcome")
            if not quiet and not console.is_terminal and (len(outcomes) % step == 0
                                                          or len(outcomes) == len(cases)):
                console.print(prog.make_tasks_table(prog.tasks))  # a bar line in logs too

        if jobs <= 1:
            _init(str(work), str(repro))
            for c in cases:
                done(_one(c))
        else:
            ctx = mp.get_context("fork")
            with ctx.Pool(jobs, initializer=_init, initargs=(str(work), str(repro)),
                          maxtasksperchild=200) as pool:
                for oc in pool.imap_unordered(_one, cases, chunksize=1):
                    done(oc)
    outcomes.sort(key=lambda o: o.id)
    sys.stderr.flush()
    return outcomes, time.monotonic() - t0
