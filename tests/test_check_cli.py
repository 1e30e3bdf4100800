"""`asurso-sync check`: formats, --rule, --as-of, --fail-on and exit codes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3

from click.testing import CliRunner
from mirror_factory import MirrorFactory

from asurso_sync.cli import cli


def _setup(tmp_path):
    f = MirrorFactory(tmp_path / "asurso.db")
    student = f.student()
    lesson = f.lesson("2025-09-10", topic=None)
    a = f.assignment(lesson, 11, "Ответ")
    f.mark(a, student, "2025-09-11T09:00:00")  # R05 warning
    f.sync_run("2025-09-12T16:00:00+00:00")
    f.db.close()
    config = tmp_path / "asurso-sync.toml"
    config.write_text('[mirror]\npath = "asurso.db"\n', encoding="utf-8")
    return f, lesson, a, student, config


def test_check_json_items_follow_the_spec(tmp_path):
    f, lesson, a, student, config = _setup(tmp_path)
    result = CliRunner().invoke(
        cli,
        ["--config", str(config), "check", "--format", "json", "--rule", "R01", "--rule", "r05"],
    )
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    r01 = next(i for i in items if i["rule"] == "R01")
    assert {
        k: r01[k]
        for k in (
            "rule",
            "severity",
            "evidence",
            "class",
            "subject",
            "teacher",
            "lesson_date",
            "student_id",
            "object_id",
            "deadline",
            "status",
            "detail",
            "lesson_id",
        )
    } == {
        "rule": "R01",
        "severity": "violation",
        "evidence": "portal",
        "class": "5а",
        "subject": "Математика",
        "teacher": "Петрова Мария Ивановна",
        "lesson_date": "2025-09-10",
        "student_id": None,
        "object_id": lesson,
        "deadline": "2025-09-10",
        "status": "new",
        "detail": "Тема урока не указана",
        "lesson_id": lesson,
    }
    r05 = next(i for i in items if i["rule"] == "R05")
    assert (
        r05["severity"],
        r05["object_id"],
        r05["student_id"],
        r05["assignment_id"],
        r05["entered_at"],
    ) == ("warning", a, student, a, "2025-09-11T09:00:00")
    assert len(items) == 2


def test_check_fail_on_and_default_as_of(tmp_path):
    _f, _lesson, _a, _student, config = _setup(tmp_path)
    runner = CliRunner()
    base = ["--config", str(config), "check", "--rule", "R05", "--format", "csv"]
    assert runner.invoke(cli, base).exit_code == 0
    assert runner.invoke(cli, [*base, "--fail-on", "violation"]).exit_code == 0
    result = runner.invoke(cli, [*base, "--fail-on", "warning"])
    assert result.exit_code == 3
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["rule"], r["status"], r["deadline"]) for r in rows] == [
        ("R05", "open", "2025-09-10")
    ]
    # as of the day of the lesson the warning's mark is not there yet
    early = runner.invoke(cli, [*base, "--as-of", "2025-09-10", "--fail-on", "info"])
    assert early.exit_code == 0
    assert [(r["rule"], r["status"]) for r in csv.DictReader(io.StringIO(early.stdout))] == [
        ("R05", "fixed")
    ]


def test_check_table_and_errors(tmp_path):
    _f, _lesson, _a, _student, config = _setup(tmp_path)
    runner = CliRunner()
    table = runner.invoke(cli, ["--config", str(config), "check", "--rule", "R01"])
    assert table.exit_code == 0
    assert "R01 Тема урока не внесена в день урока: 1" in table.stdout
    assert "Итого открытых замечаний: 1" in table.stdout
    bad = runner.invoke(cli, ["--config", str(config), "check", "--rule", "R99"])
    assert (bad.exit_code, bad.stderr.strip()) == (
        1,
        "Error: unknown rule(s): R99 (known: R01–R25)",
    )
    bad_date = runner.invoke(cli, ["--config", str(config), "check", "--as-of", "20.05.2026"])
    assert bad_date.exit_code == 2
    config.write_text('[mirror]\npath = "none.db"\n', encoding="utf-8")
    missing = runner.invoke(cli, ["--config", str(config), "check"])
    assert missing.exit_code == 1
    assert "no mirror at" in missing.stderr


def test_check_dry_run_reads_the_mirror_read_only_and_records_nothing(tmp_path):
    _f, _lesson, _a, _student, config = _setup(tmp_path)
    mirror = tmp_path / "asurso.db"
    before = hashlib.sha256(mirror.read_bytes()).hexdigest()
    result = CliRunner().invoke(
        cli, ["--config", str(config), "check", "--dry-run", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["status"] for r in rows} == {"new"} and {"R01", "R05"} <= {r["rule"] for r in rows}
    assert hashlib.sha256(mirror.read_bytes()).hexdigest() == before
    with sqlite3.connect(mirror) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM check_runs), (SELECT count(*) FROM violations)"
        ).fetchone()
    assert counts == (0, 0)
