"""A full disk, a read-only mount and a damaged mirror each get one plain line naming the cause."""

from __future__ import annotations

import errno
import os
import sqlite3

from click.testing import CliRunner

from asurso_sync import setup
from asurso_sync.cli import cli

INIT = ["init", "--portal", "http://127.0.0.1:9", "--school-id", "107", "--login", "admin"]
INIT += ["--password", "secret", "--no-check"]


def _config(tmp_path, mirror):
    path = tmp_path / "asurso-sync.toml"
    path.write_text(f'[mirror]\npath = "{mirror.name}"\n', encoding="utf-8")
    return path


def test_a_full_disk_is_one_line_and_nothing_is_left_half_written(tmp_path, monkeypatch):
    config = tmp_path / "asurso-sync.toml"

    def full(path, text, *args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(setup, "write_secret_file", full)
    result = CliRunner().invoke(cli, ["--config", str(config), *INIT])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the disk is full: {tmp_path / 'asurso-sync.password'}: free some space and run "
        "again\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_mount_is_one_line(tmp_path, monkeypatch):
    config = tmp_path / "asurso-sync.toml"
    real_open = os.open

    def read_only(path, flags, *args):
        if flags & os.O_WRONLY:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    result = CliRunner().invoke(cli, ["--config", str(config), *INIT])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the file system is read-only: {tmp_path / 'asurso-sync.password'}: "
        "the tool cannot write there\n"
    )


def test_a_damaged_mirror_is_named_with_what_to_do(tmp_path):
    mirror = tmp_path / "asurso.db"
    mirror.write_bytes(b"this is not a database, it was overwritten by mistake\n" * 100)
    config = _config(tmp_path, mirror)
    for command in (["status"], ["check"]):
        result = CliRunner().invoke(cli, ["--config", str(config), *command])
        assert result.exit_code == 1, command
        assert result.stderr == (
            f"Error: the mirror is empty or damaged: {mirror} is not a SQLite database; restore "
            "it from a backup or move it away to start a new mirror\n"
        ), command


def test_sqlite_disk_errors_are_plain_lines(tmp_path, monkeypatch):
    mirror = tmp_path / "asurso.db"
    config = _config(tmp_path, mirror)
    for raised, line in (
        (
            sqlite3.OperationalError("disk I/O error"),
            f"a disk I/O error while using the mirror {mirror}: check the disk",
        ),
        (
            sqlite3.OperationalError("database or disk is full"),
            "the disk is full: SQLite could not write; free some space",
        ),
        (
            sqlite3.OperationalError("attempt to write a readonly database"),
            f"the mirror is read-only (a read-only mount?): {mirror}",
        ),
    ):

        def broken(*args, exc=raised, **kwargs):
            raise exc

        monkeypatch.setattr("asurso_sync.cli.status.collect_status", broken)
        result = CliRunner().invoke(cli, ["--config", str(config), "status"])
        assert (result.exit_code, result.stderr) == (1, f"Error: {line}\n")


def test_other_os_errors_stay_unexpected(tmp_path, monkeypatch):
    def denied(*args, **kwargs):
        raise OSError(errno.EIO + 1000, "something else")

    monkeypatch.setattr("asurso_sync.cli.status.collect_status", denied)
    config = _config(tmp_path, tmp_path / "asurso.db")
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: unexpected OSError: ")


def test_a_damaged_database_behind_an_open_mirror_is_named_too(tmp_path, monkeypatch):
    """The error handler's own words when SQLite finds the damage after the mirror opened."""
    mirror = tmp_path / "asurso.db"
    mirror.write_bytes(b"garbage" * 100)
    config = _config(tmp_path, mirror)

    def damaged(*args, **kwargs):
        raise sqlite3.DatabaseError("file is not a database")

    monkeypatch.setattr("asurso_sync.cli.status.collect_status", damaged)
    result = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert (result.exit_code, result.stderr) == (
        1,
        f"Error: the mirror {mirror} is damaged (file is not a database): restore it from a "
        "backup, or move it away and run `asurso-sync sync --full`\n",
    )
