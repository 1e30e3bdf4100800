"""The `status` command."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import click

from asurso_sync.cli.app import App, cli
from asurso_sync.status import collect_status, render_status


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
def status(app: App, as_json: bool) -> None:
    """Last sync runs, row counts, open violations and archive health."""
    data = collect_status(app.config)  # sync health, jobs, violations, archive, disk use
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(render_status(data, ZoneInfo(app.config.sync.timezone)))
