"""The click command line: parsing, output and exit codes only; the work is in the packages.

Each command lives in a module of this package and registers itself on `cli`.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import click

from asurso_sync import __version__
from asurso_sync.config import Config, load_config
from asurso_sync.errors import AsursoSyncError
from asurso_sync.log import configure_logging

log = logging.getLogger(__name__)


@dataclass
class App:
    """What every command gets as `ctx.obj`: the config (read on first use) and verbosity."""

    config_path: str | None = None
    verbosity: int = 0
    quiet: bool = False
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def cwd(self) -> Path:
        return Path.cwd()


class _Group(click.Group):
    """Turns AsursoSyncError into one line on stderr and its exit code (traceback with -v)."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except AsursoSyncError as exc:
            _fail(ctx, str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail(ctx, "interrupted", 130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: still one line unless -v
            _fail(ctx, f"unexpected {type(exc).__name__}: {exc} (run with -v for details)", 1)


def _fail(ctx: click.Context, message: str, code: int) -> None:
    app = ctx.obj if isinstance(ctx.obj, App) else None
    if app is not None and app.verbosity >= 1:
        traceback.print_exc()
    click.echo(f"Error: {message}", err=True)
    ctx.exit(code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (default: $ASURSO_SYNC_CONFIG, then ./asurso-sync.toml).",
)
@click.option("-v", "--verbose", count=True, help="More detail (-vv: also HTTP requests).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.version_option(__version__, prog_name="asurso-sync")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool) -> None:
    """Mirror, check, report and archive a school's АСУ РСО e-journal."""
    configure_logging(verbose, quiet)
    ctx.obj = App(config_path=config_path, verbosity=verbose, quiet=quiet)


def main() -> None:
    cli(prog_name="asurso-sync")


# Register the commands (each module adds its own to `cli`).
from asurso_sync.cli import (  # noqa: E402,F401
    archive,
    capture,
    check,
    demo,
    doctor,
    init,
    login,
    report,
    schedule,
    simulate,
    status,
    sync,
)
