"""Progress of a running proof, per task: name, elapsed seconds, status.

On a terminal a rich status line is redrawn while a task runs; otherwise (output to a log
or a pipe) one plain line when a task starts, one every ``every_s`` seconds while it runs
and one with its status when it ends, flushed at once, so a log shows where a proof is.
"""

from __future__ import annotations

import sys
import time


class ProofProgress:
    """``progress(task, state, seconds)`` callback for ``prove_unit``; use as a context."""

    def __init__(self, label: str, stream=None, every_s: float = 30.0):
        from rich.console import Console

        self.label = label
        self.console = Console(file=stream or sys.stderr, highlight=False)
        self.live = self.console.is_terminal
        self.every_s = every_s
        self._status = None
        self._last = 0.0
        self._t0 = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._stop()

    def _stop(self):
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _line(self, text: str) -> None:
        from rich.markup import escape

        self.console.print(escape(text), soft_wrap=True)
        self.console.file.flush()

    def __call__(self, task: str, state: str, seconds: float) -> None:
        head = f"prove {self.label}: {task}"
        if state == "running":
            msg = f"{head} running {seconds:.0f} s"
            if self.live:
                if self._status is None:
                    self._status = self.console.status(msg)
                    self._status.start()
                else:
                    self._status.update(msg)
            elif seconds == 0.0 or seconds - self._last >= self.every_s:
                self._last = seconds if seconds else 0.0
                self._line(msg)
            return
        self._stop()
        self._last = 0.0
        total = time.monotonic() - self._t0
        self._line(f"{head} {state} {seconds:.1f} s (total {total:.0f} s)")
