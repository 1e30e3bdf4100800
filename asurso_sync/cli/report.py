"""The `report` command: render one of the regulation's documents D1–D10."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from asurso_sync.archive import register_head, register_rows
from asurso_sync.cli.app import App, cli
from asurso_sync.documents import KINDS, ReportError, period_for, render, resolve_kind
from asurso_sync.documents.cache import RenderCache

log = logging.getLogger(__name__)


class Progress:
    """Progress of many documents: a bar with counts and an estimate on a terminal; in a log a
    plain line at every tenth of the work once it takes more than a few seconds, and the last
    one; nothing under `-q`."""

    QUIET_SECONDS = 3.0  # work shorter than this logs only its last line

    def __init__(
        self,
        label: str,
        *,
        quiet: bool,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.quiet = quiet
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.clock = clock
        self.bar: Any = None
        self.done = 0
        self.next_line = 0
        self.started = clock()

    def __call__(self, done: int, total: int) -> None:
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
                log.info("%s: %d of %d documents, about %.0f s left", self.label, done, total, left)
                self.next_line = done + max(1, total // 10)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@cli.command()
@click.argument("kind", metavar="KIND")
@click.option(
    "--month", metavar="YYYY-MM", help="A calendar month (D1, D2 default: the last complete one)."
)
@click.option(
    "--term",
    type=click.IntRange(min=1),
    metavar="N",
    help="The Nth period of the year (D4 default: the last complete one).",
)
@click.option("--week", metavar="YYYY-Www", help="An ISO week (D3 default: the last complete one).")
@click.option(
    "--class",
    "class_name",
    metavar="NAME",
    help="Only this class (a class teacher's copy), e.g. 5а.",
)
@click.option("--teacher", metavar="NAME", help="Only this teacher (part of the name, or the id).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "pdf"]),
    default="html",
    show_default=True,
    help="pdf also writes PDF/A (needs the `pdf` extra).",
)
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="reports",
    show_default=True,
    help="Folder for the files (0600; a folder it creates is 0700, an existing one is left as is).",
)
@click.pass_obj
def report(
    app: App,
    kind: str,
    month: str | None,
    term: int | None,
    week: str | None,
    class_name: str | None,
    teacher: str | None,
    fmt: str,
    out_dir: str,
) -> None:
    """Render document KIND into -o DIR: HTML, a CSV and an XLSX twin of each table, PDF/A.

    KIND is one of: D1 remarks, D2 filling, D3 activity, D4 progress, D5 class-progress,
    D6 attendance, D7 journal, D8 summary-sheet, D10 register. Without --month/--term/--week
    a document covers its default period (D1, D2: the last complete month; D3: the last
    complete week; D4: the last complete term; the others: the school year), said on stderr.
    """
    try:
        code = resolve_kind(kind)
    except ReportError as exc:
        if kind.strip().upper() == "D9" or kind.strip().lower() in ("nurse", "health"):
            raise
        raise click.BadParameter(str(exc), param_hint="KIND") from None
    if code != "D10":
        period = period_for(
            app.config.mirror_path, code, month=month, term=term, week=week, settings=app.config
        )
        if not app.quiet:
            reason = f" ({period.reason})" if period.reason else ""
            click.echo(f"{code} for {period.name}{reason}", err=True)
    progress = Progress(f"{code} {KINDS[code][1]}", quiet=app.quiet)
    d10 = code == "D10"  # the register's rows come from the archive
    # PDFs go through the render cache, so `archive create` reuses them (same mirror state)
    draw = RenderCache.for_mirror(app.config.mirror_path).render if fmt == "pdf" else render
    try:
        paths = draw(
            app.config.mirror_path,
            code,
            out_dir,
            fmt=fmt,
            month=month,
            term=term,
            week=week,
            class_name=class_name,
            teacher=teacher,
            settings=app.config,
            progress=progress,
            workers=os.cpu_count(),
            register_rows=register_rows(app.config) if d10 else None,
            register_head=register_head(app.config) if d10 else None,
        )
    finally:
        progress.close()
    for path in paths:
        click.echo(str(path))
    if not paths:
        click.echo("nothing to report for this selection", err=True)
