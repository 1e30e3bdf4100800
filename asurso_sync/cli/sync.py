"""The `sync` command."""

from __future__ import annotations

import click

from asurso_sync.cli.app import App, cli
from asurso_sync.cli.progress import Progress
from asurso_sync.errors import SyncPartial
from asurso_sync.sync import run_sync


@cli.command()
@click.option("--full", is_flag=True, help="Fetch the whole school year, not only recent terms.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Fetch the terms that end on or after this date (YYYY-MM-DD).",
)
@click.option(
    "--accept-deletions",
    is_flag=True,
    help="Save the run even when it marks more rows deleted than [sync] max_deletion_share.",
)
@click.pass_obj
def sync(app: App, full: bool, since, accept_deletions: bool) -> None:
    """Log in, pull the journals and update the mirror (each journal all or nothing)."""
    if full and since:
        raise click.UsageError("use either --full or --since, not both")
    bar = Progress("sync", quiet=app.quiet, unit="journals")
    try:
        result = run_sync(
            app.config,
            full=full,
            since=since.date() if since else None,
            accept_deletions=accept_deletions,
            progress=bar,
        )
    finally:
        bar.close()
    if result.skipped:
        raise SyncPartial(result.skipped_line())
    click.echo(f"sync ok: {result.summary()}")
