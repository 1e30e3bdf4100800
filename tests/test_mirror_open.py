"""Opening the mirror (issue 12, item 13): a zero-byte or non-SQLite file is an error naming the
cause, never silently replaced; read-only commands open it read-only."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner
from mirrors import copy_mirror

from asurso_sync.cli import cli
from asurso_sync.errors import MirrorDamaged, MirrorOutdated
from asurso_sync.mirror.db import open_mirror


@pytest.mark.parametrize(
    "content,why",
    [(b"", "has 0 bytes"), (b"<html>not a database</html>" * 10, "is not a SQLite database")],
)
def test_an_empty_or_foreign_file_is_an_error_and_stays_as_it_was(tmp_path, content, why):
    path = tmp_path / "asurso.db"
    path.write_bytes(content)
    for readonly in (False, True):
        with pytest.raises(MirrorDamaged) as info:
            open_mirror(path, readonly=readonly)
        assert str(info.value) == (
            f"the mirror is empty or damaged: {path} {why}; restore it from a backup or move "
            "it away to start a new mirror"
        )
    assert path.read_bytes() == content


def test_sync_on_a_zero_byte_mirror_exits_1_and_leaves_the_file(tmp_path):
    (tmp_path / "asurso.db").write_bytes(b"")
    config = tmp_path / "asurso-sync.toml"
    config.write_text('[portal]\nschool_id = 1\n[mirror]\npath = "asurso.db"\n', encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "sync"],
        env={"ASURSO_LOGIN": "x", "ASURSO_PASSWORD": "y"},
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the mirror is empty or damaged: {tmp_path / 'asurso.db'} has 0 bytes; restore "
        "it from a backup or move it away to start a new mirror\n"
    )
    assert (tmp_path / "asurso.db").stat().st_size == 0


def test_a_damaged_page_is_named_too(small_mirror, tmp_path):
    path = copy_mirror(small_mirror, tmp_path)
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page
    path.write_bytes(bytes(data))
    with pytest.raises(MirrorDamaged) as info:
        open_mirror(path, readonly=True)
    assert str(info.value).startswith(f"the mirror is empty or damaged: {path}: ")


def test_readonly_opens_without_writing_and_refuses_writes(small_mirror, tmp_path):
    path = copy_mirror(small_mirror, tmp_path)
    path.chmod(0o400)
    before = path.read_bytes()
    db = open_mirror(path, readonly=True)
    assert db.table("marks").count > 0
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM marks")
    db.close()
    assert path.read_bytes() == before


def test_readonly_needs_an_existing_mirror(tmp_path):
    with pytest.raises(MirrorDamaged) as info:
        open_mirror(tmp_path / "none.db", readonly=True)
    assert str(info.value) == (f"no mirror at {tmp_path / 'none.db'}: run `asurso-sync sync` first")
    assert not (tmp_path / "none.db").exists()


def test_readonly_refuses_a_mirror_an_older_version_made(small_mirror, tmp_path):
    path = copy_mirror(small_mirror, tmp_path)
    db = open_mirror(path)
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm021_sync_scope_digests'")
    db.conn.commit()
    db.close()
    with pytest.raises(MirrorOutdated) as info:
        open_mirror(path, readonly=True)
    assert str(info.value) == (
        f"the mirror {path} was made by an older asurso-sync (1 upgrade(s) pending): run "
        "`asurso-sync sync` once to upgrade it"
    )
