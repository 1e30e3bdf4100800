"""Progress of long work on the command line: a bar on a terminal, plain lines in a log."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import click

log = logging.getLogger(__name__)


class Progress:
    """Progress of long work (documents, journals, files of a bag): a bar with counts and an
    estimate on a terminal; in a log a plain line at every tenth of the work once it takes more
    than a few seconds, and the last one, naming the item just done when the caller says it;
    nothing under `-q`. Called as `progress(done, total)` or `progress(done, total, what)`."""

    QUIET_SECONDS = 3.0  # work shorter than this logs only its last line

    def __init__(
        self,
        label: str,
        *,
        quiet: bool,
        unit: str = "documents",
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.unit = unit
        self.quiet = quiet
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.clock = clock
        self.bar: Any = None
        self.done = 0
        self.next_line = 0
        self.started = clock()

    def __call__(self, done: int, total: int, what: str = "") -> None:
        if self.quiet or total <= 1:
            return
        if self.tty:
            if self.bar is None:
                self.bar = click.progressbar(
                    length=total,
                    label=self.label,
                    file=sys.stderr,
                    show_pos=True,
                    show_eta=True,
                )
                self.bar.__enter__()
            self.bar.update(done - self.done)
        else:
            elapsed = self.clock() - self.started
            if done == total or (done >= self.next_line and elapsed >= self.QUIET_SECONDS):
                left = elapsed / done * (total - done) if done else 0.0
                log.info(
                    "%s: %d of %d %s, about %.0f s left%s",
                    self.label,
                    done,
                    total,
                    self.unit,
                    left,
                    f" ({what})" if what else "",
                )
                self.next_line = done + max(1, total // 10)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
