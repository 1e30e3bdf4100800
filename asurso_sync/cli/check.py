"""The `check` command: evaluate the regulation's rules over the mirror and record the result."""

from __future__ import annotations

import datetime as dt

import click

from asurso_sync.cli.app import App, cli
from asurso_sync.errors import AsursoSyncError
from asurso_sync.mirror.db import open_mirror
from asurso_sync.rules import check as run_check
from asurso_sync.rules import evaluate, load_rule_settings
from asurso_sync.rules.output import (
    SEVERITY_RANK,
    render_csv,
    render_json,
    render_table,
    result_items,
    worst_severity,
)


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD") from None


@cli.command()
@click.option(
    "--as-of",
    callback=_date,
    metavar="DATE",
    help="Evaluate as of this school-local date (default: the last sync's date).",
)
@click.option(
    "--rule",
    "rule_ids",
    multiple=True,
    metavar="ID",
    help="Only this rule (repeatable), e.g. --rule R06.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.option(
    "--fail-on",
    type=click.Choice(["violation", "warning", "info"]),
    default=None,
    help="Exit 3 when a new or open finding of this severity or worse is found.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Evaluate only: open the mirror read-only and record nothing (findings show as new).",
)
@click.pass_obj
def check(
    app: App,
    as_of: dt.date | None,
    rule_ids: tuple[str, ...],
    fmt: str,
    fail_on: str | None,
    dry_run: bool,
) -> None:
    """Check the mirror against the regulation's rules R01–R25."""
    settings = load_rule_settings(app.config)
    path = app.config.mirror_path
    if not path.exists():
        raise AsursoSyncError(f"no mirror at {path}: run `asurso-sync sync` first")
    db = open_mirror(path, readonly=dry_run)
    try:
        chosen = list(rule_ids) or None
        if dry_run:
            result = evaluate(db, settings, as_of, chosen)
        else:
            result = run_check(db, settings, as_of=as_of, rule_ids=chosen)
        items = result_items(db, result)
    finally:
        db.close()
    if fmt == "json":
        click.echo(render_json(items))
    elif fmt == "csv":
        click.echo(render_csv(items), nl=False)
    else:
        click.echo(render_table(items, result.notices), nl=False)
    if fail_on and worst_severity(result.findings) >= SEVERITY_RANK[fail_on]:
        raise click.exceptions.Exit(3)
