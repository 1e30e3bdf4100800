"""The `report` command: render one of the regulation's documents D1–D10."""

from __future__ import annotations

import logging
import os

import click

from asurso_sync.archive import register_head, register_rows
from asurso_sync.cli.app import App, cli
from asurso_sync.cli.progress import Progress
from asurso_sync.documents import KINDS, ReportError, period_for, render, resolve_kind
from asurso_sync.documents.cache import RenderCache

log = logging.getLogger(__name__)


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
