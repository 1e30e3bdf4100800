"""The `doctor` command: diagnose the first contact with the portal."""

from __future__ import annotations

import click

from asurso_sync.cli.app import App, cli
from asurso_sync.mirror.doctor_runs import store_doctor_run
from asurso_sync.portal.doctor import diagnose_configured, format_table


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--no-store", is_flag=True, help="Do not keep the result in the mirror.")
@click.pass_obj
def doctor(app: App, as_json: bool, no_store: bool) -> None:
    """Check TLS, login and every endpoint the sync uses; exit 0 only if a sync would work."""
    result, _ = diagnose_configured(app.config)
    click.echo(result.to_json() if as_json else format_table(result))
    if not no_store:
        store_doctor_run(app.config.mirror_path, result.record())
    if not result.ok:
        raise click.exceptions.Exit(1)
