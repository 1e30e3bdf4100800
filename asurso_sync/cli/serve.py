"""The `serve` command: the local web page (asurso_sync.web)."""

from __future__ import annotations

import click

from asurso_sync.cli.app import App, cli
from asurso_sync.web import serve as run
from asurso_sync.web import web_settings


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option("--certfile", type=click.Path(dir_okay=False, exists=True), help="TLS certificate.")
@click.option("--keyfile", type=click.Path(dir_okay=False, exists=True), help="TLS private key.")
@click.option(
    "--behind-proxy",
    is_flag=True,
    help="A reverse proxy on this machine terminates TLS (docs/reverse-proxy.md).",
)
@click.option("--mirror", type=click.Path(dir_okay=False), help="Mirror (default: [mirror] path).")
@click.option(
    "--archive", type=click.Path(file_okay=False), help="Archive store (default: [archive] path)."
)
@click.option(
    "--documents",
    type=click.Path(file_okay=False),
    help="Folder of rendered documents (default: reports/ beside the mirror).",
)
@click.option(
    "--accounts",
    type=click.Path(dir_okay=False),
    help="Accounts file (default: web.db beside the mirror).",
)
@click.option(
    "--idle-minutes",
    default=30,
    show_default=True,
    type=click.IntRange(1, 24 * 60),
    help="Log out after this many idle minutes.",
)
@click.pass_obj
def serve(
    app: App,
    host: str,
    port: int,
    certfile: str | None,
    keyfile: str | None,
    behind_proxy: bool,
    mirror: str | None,
    archive: str | None,
    documents: str | None,
    accounts: str | None,
    idle_minutes: int,
) -> None:
    """Serve the web page (summary, remarks, documents, archive) on HOST:PORT."""
    settings = web_settings(
        app.config,
        mirror=mirror,
        archive=archive,
        documents=documents,
        accounts=accounts,
        secure_cookies=bool(certfile) or behind_proxy,
        idle_minutes=idle_minutes,
    )
    scheme = "https" if certfile else "http"
    click.echo(f"serving {scheme}://{host}:{port}/ (Ctrl+C stops)", err=True)
    run(
        settings,
        host,
        port,
        certfile=certfile,
        keyfile=keyfile,
        behind_proxy=behind_proxy,
    )
