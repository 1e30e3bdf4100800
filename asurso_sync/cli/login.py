"""The `login` command: import a browser session when the portal allows only ESIA (Госуслуги)."""

from __future__ import annotations

from pathlib import Path

import click

from asurso_sync.cli.app import App, cli
from asurso_sync.errors import ConfigError
from asurso_sync.portal.session import (
    SHORT_LIVED,
    keep_alive,
    load_session,
    read_browser_session,
    save_session,
    session_path,
)


@cli.command()
@click.option(
    "--session-from",
    "source",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file with the `at` token and session cookies of a logged-in browser.",
)
@click.option(
    "--keep-alive",
    "keep",
    is_flag=True,
    help="Touch the imported session (one light request) so it does not time out.",
)
@click.pass_obj
def login(app: App, source: Path | None, keep: bool) -> None:
    """Import (or keep alive) a browser session for portals that refuse password login."""
    target = session_path(app.config)
    if source is None and not keep:
        raise click.UsageError("give --session-from FILE or --keep-alive")
    if source is not None:
        session = read_browser_session(source)
    else:
        found = load_session(app.config)
        if found is None:
            raise ConfigError(
                f"no imported session at {target}: run asurso-sync login --session-from FILE"
            )
        session = found
    session = keep_alive(app.config.portal, session)
    save_session(target, session)
    click.echo(f"session ok (school {session['school_id']}), kept in {target} (mode 0600)")
    click.echo(f"Warning: {SHORT_LIVED}", err=True)
