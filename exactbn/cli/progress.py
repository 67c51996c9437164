"""Progress of long commands on stderr: a rich bar on a terminal, plain lines in a log.

On a terminal the bar is transient (gone when the command ends). When stderr is a file or a
pipe (CI logs, ``2> log``), a line ``<what>: <done>/<total> <unit>, <s> s`` is written every
``every`` seconds once the run has lasted ``after`` seconds, so short runs stay silent.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    def __init__(self, what: str, total: int, unit: str = "channels", *, after: float = 2.0,
                 every: float = 5.0) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.after, self.every = after, every
        self.done = 0
        self._bar = None
        self._t0 = self._last = time.monotonic()

    def __enter__(self) -> Progress:
        if sys.stderr.isatty():
            from rich.progress import Progress as Bar

            from exactbn.cli.common import err_console

            self._bar = Bar(console=err_console, transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task(self.what, total=self.total)
        return self

    def advance(self, n: int, note: str = "") -> None:
        self.done += n
        if self._bar is not None:
            from rich.markup import escape

            desc = f"{self.what} {note}" if note else self.what
            self._bar.update(self._task, advance=n, description=escape(desc))
            return
        now = time.monotonic()
        if now - self._t0 >= self.after and now - self._last >= self.every:
            self._last = now
            line = (f"{self.what}: {self.done}/{self.total} {self.unit}, "
                    f"{now - self._t0:.0f} s{f' ({note})' if note else ''}")
            try:
                print(line, file=sys.stderr, flush=True)
            except (OSError, ValueError):
                pass

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
