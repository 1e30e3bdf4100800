"""The `doctor` command: diagnose the first contact with the portal."""

from __future__ import annotations

import click

from asurso_sync.cli import App, cli
from asurso_sync.config import read_login, read_password
from asurso_sync.errors import CredentialsError
from asurso_sync.portal.doctor import diagnose, format_table, store_result
from asurso_sync.portal.session import load_session


def credentials(app: App) -> tuple[str, str, dict | None]:
    """Login and password from the config; else an imported browser session, if any."""
    config = app.config
    try:
        return (
            read_login(config.credentials),
            read_password(config.credentials, config.path.parent if config.path else None),
            None,
        )
    except CredentialsError:
        session = load_session(config)
        if session is None:
            raise
        return "", "", session


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--no-store", is_flag=True, help="Do not keep the result in the mirror.")
@click.pass_obj
def doctor(app: App, as_json: bool, no_store: bool) -> None:
    """Check TLS, login and every endpoint the sync uses; exit 0 only if a sync would work."""
    login, password, session = credentials(app)
    result, _ = diagnose(app.config.portal, login, password, session=session)
    click.echo(result.to_json() if as_json else format_table(result))
    if not no_store:
        store_result(app.config.mirror_path, result)
    if not result.ok:
        raise click.exceptions.Exit(1)
