"""Issue 12.7, wrong types pass: a `fullName` as a number or a string id in the portal's answer
is a `LayoutError` naming the endpoint and the key, and the mirror stays as it was (a wrapper
around the simulator alters the one answer)."""

from __future__ import annotations

import datetime as dt

import pytest
from test_portal_doctor import altered

from asurso_sync.demo import sync_simulator
from asurso_sync.errors import LayoutError
from asurso_sync.mirror.db import open_mirror
from asurso_sync.simulator import make_app

AS_OF = dt.date(2026, 5, 20)


def students(path) -> list[tuple]:
    db = open_mirror(path)
    try:
        return db.execute("SELECT id, class_id, full_name FROM students ORDER BY id").fetchall()
    finally:
        db.close()


def full_name_as_number(pupils):
    for p in pupils:
        p["fullName"] = 12345
    return pupils


def id_as_text(pupils):
    for p in pupils:
        p["id"] = str(p["id"])
    return pupils


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            full_name_as_number,
            "the portal's answer to grade/studentList has a wrong 'fullName': expected text, "
            "got int 12345 (class {cid}, pupil {sid})",
        ),
        (
            id_as_text,
            "the portal's answer to grade/studentList has a wrong 'id': expected an integer id, "
            "got str '{sid}' (class {cid})",
        ),
    ],
)
def test_a_wrong_type_fails_the_run_naming_endpoint_and_key_and_leaves_the_mirror(
    small_school, tmp_path, change, message
):
    path = tmp_path / "asurso.db"
    sync_simulator(path, app=make_app(small_school, as_of=AS_OF), as_of=AS_OF)
    before = students(path)
    app = make_app(small_school, as_of=AS_OF)
    wrapper = altered(app, "/webapi/grade/studentList", change)
    wrapper.set_as_of = app.set_as_of  # type: ignore[attr-defined]
    with pytest.raises(LayoutError) as err:
        sync_simulator(path, app=wrapper, as_of=AS_OF)
    # classes are fetched concurrently: whichever class answered first is named, with a pupil
    pairs = {(s.class_id, s.id) for s in small_school.students.values()}
    named = [p for p in pairs if str(err.value) == message.format(cid=p[0], sid=p[1])]
    assert err.value.endpoint == "grade/studentList"
    assert len(named) == 1, str(err.value)
    assert students(path) == before
    assert not [row for row in before if row[2] == "12345"]
