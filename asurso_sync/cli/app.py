"""The `cli` group, its global options and the error handler every command runs under.

Command modules import `App` and `cli` from here and register themselves on `cli`;
`asurso_sync/cli/__init__.py` imports them all.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import click

from asurso_sync import __version__
from asurso_sync.config import Config, load_config
from asurso_sync.errors import AsursoSyncError, StorageError
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

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except AsursoSyncError as exc:
            _fail(ctx, str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail(ctx, "interrupted", 130)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except (OSError, sqlite3.DatabaseError) as exc:
            app = ctx.obj if isinstance(ctx.obj, App) else None
            plain = storage_error(exc, app._config.mirror_path if app and app._config else None)
            if plain is None:
                _fail(ctx, f"unexpected {type(exc).__name__}: {exc} (run with -v for details)", 1)
            else:
                _fail(ctx, str(plain), plain.exit_code)
        except Exception as exc:  # a bug: still one line unless -v
            _fail(ctx, f"unexpected {type(exc).__name__}: {exc} (run with -v for details)", 1)


SQLITE_HEADER = b"SQLite format 3\x00"


def storage_error(exc: BaseException, mirror: Path | None) -> StorageError | None:
    """A full disk, a read-only file system or a damaged mirror as one plain line; None for
    any other OSError or database error (a bug, reported as unexpected)."""
    where = f": {exc.filename}" if isinstance(exc, OSError) and exc.filename else ""
    text = str(exc).lower()
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageError(f"the disk is full{where}: free some space and run again")
    if isinstance(exc, OSError) and exc.errno == errno.EROFS:
        return StorageError(f"the file system is read-only{where}: the tool cannot write there")
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    if "database or disk is full" in text:
        return StorageError("the disk is full: SQLite could not write; free some space")
    if "readonly database" in text or "read-only" in text:
        return StorageError(f"the mirror is read-only (a read-only mount?): {mirror or exc}")
    if "disk i/o error" in text:
        return StorageError(
            f"a disk I/O error while using the mirror {mirror or ''}: check the disk"
        )
    if "file is not a database" in text or "malformed" in text:
        if mirror is not None and _damaged(mirror):
            return StorageError(
                f"the mirror {mirror} is damaged ({exc}): restore it from a backup, or move it "
                "away and run `asurso-sync sync --full`"
            )
        return StorageError(f"an SQLite file the tool uses is damaged: {exc}")
    return None


def _damaged(path: Path) -> bool:
    """True when the mirror file exists and does not start as an SQLite database does."""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER
    except FileNotFoundError:
        return False


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
