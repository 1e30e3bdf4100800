"""A portal glitch does not empty the mirror (issue 12, item 1).

Each case serves the simulator behind a wrapper that empties or alters one answer, runs `sync`
over 127.0.0.1, and asserts the exit code, the one line, the run's record and that the mirror is
row for row what it was. `--accept-deletions` saves such a run; a field the portal stops sending
is never a reason to clear it."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from altered_portal import Altered, mirror_rows
from click.testing import CliRunner

from asurso_sync.cli import cli
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.schema import SYNCED_TABLES
from asurso_sync.simulator import make_app, serve

AS_OF = dt.date(2026, 5, 20)
ACCEPT = "if the portal really deleted them, run `asurso-sync sync --accept-deletions`"


def snapshot(path) -> dict[str, list]:
    db = open_mirror(path)
    try:
        return {t: mirror_rows(db, t) for t in SYNCED_TABLES}
    finally:
        db.close()


def run_sync(small_school, mirror, tmp_path, changes, *args):
    """`sync ARGS` against the simulator as of 20 May with `changes` applied to its answers."""
    target = tmp_path / "asurso.db"
    shutil.copyfile(mirror, target)
    app = Altered(make_app(small_school, as_of=AS_OF), changes)
    account = next(a for a in app.accounts if a["role"] == "admin")
    server = serve(app, host="127.0.0.1", port=0)
    config = tmp_path / "asurso-sync.toml"
    config.write_text(
        f'[portal]\nbase_url = "{server.url}"\nschool_id = {account["school_id"]}\n'
        '[mirror]\npath = "asurso.db"\n[sync]\nfetch_access_report = false\n',
        encoding="utf-8",
    )
    try:
        result = CliRunner().invoke(
            cli,
            ["--config", str(config), "-q", "sync", "--since", "2026-05-01", *args],
            env={"ASURSO_LOGIN": account["login"], "ASURSO_PASSWORD": account["password"]},
        )
    finally:
        server.shutdown()
    return result, target, app


def drop_last(body, query):
    return body[:-1]


def first_class_only(path):
    """Empty the answer for the first class only (the others keep theirs)."""
    first: list[str] = []

    def change(body, query):
        cls = query.get("classId", [""])[0]
        if not first:
            first.append(cls)
        return [] if cls == first[0] else None

    return {path: change}


@pytest.mark.parametrize(
    "case,table,changes,expected",
    [
        (
            "empty classes",
            "classes",
            {"/webapi/classes": lambda b, q: []},
            "the portal sent no classes while the mirror holds {live}: nothing was saved; "
            + ACCEPT,
        ),
        (
            "empty terms",
            "terms",
            {"/webapi/terms": lambda b, q: []},
            "the portal sent no terms while the mirror holds {live}: nothing was saved; " + ACCEPT,
        ),
        (
            "empty subjectgroups",
            "subject_groups",
            {"/webapi/subjectgroups": lambda b, q: []},
            "the portal sent no subject_groups while the mirror holds {live}: nothing was saved; "
            + ACCEPT,
        ),
        (
            "empty subjects",
            "subjects",
            {"/webapi/subjects": lambda b, q: []},
            "the portal sent no subjects while the mirror holds {live}: nothing was saved; "
            + ACCEPT,
        ),
        (
            "empty studentList",
            "students",
            {"/webapi/grade/studentList": lambda b, q: []},
            "the portal sent no students while the mirror holds {live}: nothing was saved; "
            + ACCEPT,
        ),
        (
            "one class missing",
            "classes",
            {"/webapi/classes": drop_last},
            "the portal's answers would mark 1 of {live} classes deleted, more than [sync] "
            "max_deletion_share = 0.2: nothing was saved; " + ACCEPT,
        ),
    ],
)
def test_an_answer_that_would_delete_too_much_stops_the_run(
    case, table, changes, expected, small_school, small_mirror, tmp_path
):
    before = snapshot(small_mirror)
    live = len([r for r in open_mirror(small_mirror).table(table).rows if not r["deleted_at"]])
    result, path, _ = run_sync(small_school, small_mirror, tmp_path, changes)
    assert result.exit_code == 1, result.output
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    message = line.removeprefix("Error: ")
    assert message == expected.format(live=live)
    assert snapshot(path) == before
    db = open_mirror(path)
    assert list(db.query("SELECT status, error FROM sync_runs WHERE id = 2")) == [
        {"status": "failed", "error": message}
    ]


def test_a_class_whose_student_list_comes_back_empty_keeps_its_pupils(
    small_school, small_mirror, tmp_path
):
    """The class's journals still list its pupils: nothing is deleted, nothing cleared."""
    before = snapshot(small_mirror)
    result, path, app = run_sync(
        small_school, small_mirror, tmp_path, first_class_only("/webapi/grade/studentList")
    )
    assert result.exit_code == 0, result.output
    assert app.hits["/webapi/grade/studentList"] == 1
    assert snapshot(path)["students"] == before["students"]


def test_accept_deletions_saves_the_run(small_school, small_mirror, tmp_path):
    result, path, _ = run_sync(
        small_school, small_mirror, tmp_path, {"/webapi/classes": drop_last}, "--accept-deletions"
    )
    assert result.exit_code == 0, result.output
    db = open_mirror(path)
    gone = db.execute("SELECT id FROM classes WHERE deleted_at IS NOT NULL").fetchall()
    assert len(gone) == 1
    assert db.table("sync_runs").get(2)["status"] == "ok"


def test_fields_the_student_list_stops_sending_are_kept(small_school, small_mirror, tmp_path):
    def strip(body, query):
        return [
            {k: v for k, v in s.items() if k not in ("addedDate", "healthGroupFilled")}
            for s in body
        ]

    before = snapshot(small_mirror)
    result, path, app = run_sync(
        small_school, small_mirror, tmp_path, {"/webapi/grade/studentList": strip}
    )
    assert result.exit_code == 0, result.output
    assert app.hits["/webapi/grade/studentList"] == 3
    after = snapshot(path)
    assert after["students"] == before["students"]
    db = open_mirror(path)
    assert db.execute("SELECT count(*) FROM students WHERE added_date IS NULL").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM changes WHERE table_name = 'students'").fetchone() == (
        0,
    )


def test_empty_subjects_accepted_still_keep_the_lessons_subject_names(
    small_school, small_mirror, tmp_path
):
    before = snapshot(small_mirror)
    result, path, _ = run_sync(
        small_school,
        small_mirror,
        tmp_path,
        {"/webapi/subjects": lambda b, q: []},
        "--accept-deletions",
    )
    assert result.exit_code == 0, result.output
    after = snapshot(path)
    assert after["lessons"] == before["lessons"]
    db = open_mirror(path)
    assert db.execute("SELECT count(*) FROM lessons WHERE subject_name IS NULL").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM subjects WHERE deleted_at IS NULL").fetchone() == (0,)
