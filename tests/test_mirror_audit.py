"""The audit log (152-ФЗ ст. 19 ч. 2 п. 8): who ran what, append-only, no personal data."""

import sqlite3

import pytest
from mirrors import copy_mirror

from asurso_sync.mirror.audit import os_user, record_action
from asurso_sync.mirror.db import open_mirror
from asurso_sync.rules import check, parse_rule_settings


def test_an_action_is_recorded_with_the_os_user():
    db = open_mirror(memory=True)
    record_action(db, "sync", "run 1 ok")
    rows = [{k: r[k] for k in ("id", "os_user", "command", "detail")} for r in db["audit_log"].rows]
    assert rows == [{"id": 1, "os_user": os_user(), "command": "sync", "detail": "run 1 ok"}]


def test_the_audit_log_refuses_updates_and_deletes():
    db = open_mirror(memory=True)
    record_action(db, "report", "D1 x1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET detail = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")


def test_a_check_is_recorded(small_mirror, tmp_path):
    db = open_mirror(copy_mirror(small_mirror, tmp_path))
    before = db["audit_log"].count
    result = check(db, parse_rule_settings({}))
    last = list(db.query("SELECT command, detail FROM audit_log ORDER BY id DESC LIMIT 1"))[0]
    assert db["audit_log"].count == before + 1
    assert last == {
        "command": "check",
        "detail": f"check {result.check_id} as of {result.as_of}: "
        f"{len(result.findings)} findings, {len(result.fixed)} fixed",
    }


def test_a_sync_run_is_recorded(small_mirror, tmp_path):
    db = open_mirror(copy_mirror(small_mirror, tmp_path))
    rows = list(db.query("SELECT command, detail FROM audit_log WHERE command = 'sync'"))
    assert {"command": "sync", "detail": "run 1 ok"} in rows
