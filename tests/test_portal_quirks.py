"""Issue 11 "Done when": a full sync under every real variant at once (`simulate --quirks all`,
CONTRACT §7) gives the same mirror, row for row (teachers included), and the same findings as
a sync of the plain simulator. Only the journal access report differs by nature: its real
layouts (2013, 2018) report the last change of marks per group, not logins."""

from __future__ import annotations

import datetime as dt

import pytest
from mirror_compare import findings, mirror_rows

from asurso_sync.demo import sync_simulator
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.schema import SYNCED_TABLES
from asurso_sync.simulator import make_app

AS_OF = dt.date(2026, 5, 20)


@pytest.fixture(scope="module")
def plain(small_school, tmp_path_factory):
    path = tmp_path_factory.mktemp("plain") / "plain.db"
    sync_simulator(path, app=make_app(small_school, as_of=AS_OF), as_of=AS_OF)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("quirks", "layout"), [("all", "2013"), ("all,roles_object,access_2018", "2018")]
)
def test_a_full_sync_under_every_real_variant_gives_the_same_mirror_and_findings(
    small_school, plain, tmp_path, quirks, layout
):
    quirky = tmp_path / "quirky.db"
    app = make_app(small_school, as_of=AS_OF, quirks=quirks)
    assert {
        "no_teachers_expand",
        "journal_no_termid",
        "journal_sparse",
        "plan_zero",
        "empty_cookie",
        "long_login",
        "year_switch",
    } <= set(app.quirks)
    sync_simulator(quirky, app=app, as_of=AS_OF)
    want, got = mirror_rows(plain), mirror_rows(quirky)
    for table in SYNCED_TABLES:
        if table != "journal_access":
            assert got[table] == want[table], table
    assert want["subject_group_teachers"] and want["period_marks"] and want["plans"]
    assert findings(quirky, AS_OF) == findings(plain, AS_OF)
    db = open_mirror(quirky)
    try:
        layouts = dict(
            db.execute("SELECT layout, count(*) FROM journal_access GROUP BY layout").fetchall()
        )
        version = db.execute("SELECT portal_version FROM sync_runs").fetchone()[0]
    finally:
        db.close()
    assert set(layouts) == {layout} and layouts[layout] > 0
    assert version


def test_a_parent_whose_diary_names_no_class_gets_no_phantom_class(small_school, tmp_path):
    path = tmp_path / "parent.db"
    app = make_app(small_school, as_of=AS_OF, quirks="diary_class0,roles_empty")
    result = sync_simulator(path, app=app, as_of=AS_OF, role="parent")
    db = open_mirror(path)
    try:
        classes = db.execute("SELECT id, name FROM classes").fetchall()
        pupils = db.execute("SELECT class_id FROM students").fetchall()
        lessons = db.execute("SELECT count(*) FROM lessons").fetchone()[0]
    finally:
        db.close()
    assert result.role == "Родитель"
    assert classes == []
    assert pupils and {row[0] for row in pupils} == {None}
    assert lessons > 0
