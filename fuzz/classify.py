"""Sort one run into an outcome class.

Classes: ``exit2`` (clean refusal: exit 2, one ``exactbn: error:`` line, no traceback),
``exit2-messy`` (exit 2 but not one clean line), ``check-failed`` (exit 1), ``success``,
and the bad ones: ``traceback``, ``hang``, ``garbage`` (a mutant that must be refused was
accepted), ``outside-o`` (a file outside -o was written, removed or changed, or an input
changed). ``slow`` is a timeout of a command that is slow by nature on an input it may accept.
"""

from __future__ import annotations

from fuzz.runner import Result

__all__ = ["BAD", "CLASSES", "classify"]

BAD = ("traceback", "hang", "garbage", "outside-o", "exit2-messy")
CLASSES = ("exit2", "check-failed", "success", "slow", *BAD)


def _exit2_clean(stderr: str) -> bool:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    errs = [ln for ln in lines if ln.startswith("exactbn: error:")]
    # argparse prints its usage lines before the error; nothing else may be there
    others = [ln for ln in lines if not ln.startswith("exactbn: error:")
              and not ln.startswith("usage:") and not ln.startswith(" ")]
    return len(errs) == 1 and not others


def classify(res: Result, *, garbage: str | None, outside: list[str], may_be_slow: bool
             ) -> tuple[list[str], str]:
    """(classes, detail): the first class is the primary one; bad classes can combine."""
    classes: list[str] = []
    detail = ""
    text = res.stdout + res.stderr + (res.exception or "")
    if res.timed_out:
        if may_be_slow:
            classes.append("garbage" if garbage else "slow")
        else:
            classes.append("hang")
        detail = f"no exit after {res.seconds:.0f} s"
    elif res.exception or "Traceback (most recent call last)" in text or res.rc not in (0, 1, 2):
        classes.append("traceback")
        detail = _last_error(res)
    elif res.rc == 0 and garbage:
        classes.append("garbage")
        detail = garbage
    elif res.rc == 2:
        classes.append("exit2" if _exit2_clean(res.stderr) else "exit2-messy")
        detail = res.stderr.strip().splitlines()[-1][:300] if res.stderr.strip() else "(silent)"
    elif res.rc == 1:
        classes.append("check-failed")
        detail = (res.stderr.strip() or res.stdout.strip()).splitlines()[-1][:300] \
            if (res.stderr.strip() or res.stdout.strip()) else ""
    else:
        classes.append("success")
    if outside:
        classes.append("outside-o") if classes[0] != "outside-o" else None
        detail = (detail + "; " if detail else "") + "outside -o: " + ", ".join(outside[:5])
    if res.timed_out and garbage:  # a refused-input mutant still running: it was accepted
        detail += f"; {garbage}"
    return classes, detail


def _last_error(res: Result) -> str:
    text = res.exception or res.stderr or res.stdout
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return f"exit status {res.rc}"
    frames = [ln.strip() for ln in lines if ln.strip().startswith("File ")]
    where = frames[-1] if frames else ""
    return f"{lines[-1][:200]} [{where[:160]}] (exit {res.rc})"
