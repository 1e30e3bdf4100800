"""The `capture` command: record what `doctor` sees, pseudonymised, for the developers."""

from __future__ import annotations

from pathlib import Path

import click

from asurso_sync.cli.app import App, cli
from asurso_sync.portal.capture import build_capture, digest, to_fixtures, write_capture
from asurso_sync.portal.doctor import diagnose_configured


@cli.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The zip to write (mode 0600).",
)
@click.option("--mask-text", is_flag=True, help="Also mask free text (topics, homework, comments).")
@click.option(
    "--to-fixtures",
    "to_fixtures_args",
    nargs=2,
    type=click.Path(path_type=Path),
    metavar="ZIP DIR",
    help="Developers: turn a capture into fixture files in DIR.",
)
@click.pass_obj
def capture(app: App, out: Path | None, mask_text: bool, to_fixtures_args: tuple) -> None:
    """Save the portal's raw answers with people pseudonymised (no tokens, no passwords)."""
    if to_fixtures_args:
        source, folder = to_fixtures_args
        written = to_fixtures(Path(source), Path(folder))
        click.echo(f"wrote {len(written)} fixture files to {folder}")
        return
    if out is None:
        raise click.UsageError("give --out FILE.zip (or --to-fixtures ZIP DIR)")
    result, recorder = diagnose_configured(app.config)
    files = build_capture(result, recorder.exchanges, mask_text=mask_text)
    write_capture(out, files)
    click.echo(
        f"wrote {out}: {len(files) - 1} answers, portal version "
        f"{result.server_version or 'not stated'}, fingerprint {digest(files)}"
    )
    if not result.ok:
        click.echo(f"doctor: {result.verdict()}", err=True)
