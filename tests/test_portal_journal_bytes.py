"""The journal answer read from its bytes (`portal.journal_bytes`) gives exactly the rows of the
careful reading (`adapter.parse_journal`); an answer it cannot judge goes to the careful reading,
which keeps the last word: what the contract allows is read, a bad value is named, a broken
body is retried (CONTRACT §3, issue 14)."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from simclient import logged_in

from asurso_sync.config import PortalSettings
from asurso_sync.errors import LayoutError
from asurso_sync.portal import adapter
from asurso_sync.portal.client import PortalClient
from asurso_sync.portal.fetch import fetch_journal
from asurso_sync.portal.journal_bytes import read_journal, read_plan
from asurso_sync.simulator import make_app

REAL = Path(__file__).parent / "fixtures" / "real"
IDS = {"sg_id": 1201, "term_id": 26904, "class_id": 105007, "subject_name": "Математика"}
MINIMAL = json.loads((REAL / "vendorshape_journal_minimal.json").read_text(encoding="utf-8"))


def both(answer: bytes, **ids):
    """(bytes reading, careful reading) of one answer."""
    ids = ids or IDS
    return read_journal(answer, **ids), adapter.parse_journal(json.loads(answer), **ids)


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("vendorshape_journal_*.json")))
def test_every_real_journal_shape_reads_the_same_from_its_bytes(name):
    fast, careful = both((REAL / name).read_bytes())
    assert fast == careful
    assert careful["lessons"]  # a shape with rows, not two empty readings


def test_every_journal_of_the_simulated_school_reads_the_same_from_its_bytes(school):
    app = make_app(school, as_of=dt.date(2026, 5, 20))
    client = logged_in(app)
    try:
        year = client.get("/webapi/years/current").json()["id"]
        compared = rows = 0
        for cls in client.get("/webapi/classes").json():
            groups = client.get(
                "/webapi/subjectgroups", params={"classId": cls["id"], "expand": "terms"}
            ).json()
            for group in groups:
                for term in group["terms"]:
                    params = {"yearId": year, "classId": cls["id"], "grade": -1}
                    params.update(sgId=group["id"], termId=term)
                    body = client.get("/webapi/grade/journal", params=params).content
                    ids = {"sg_id": group["id"], "term_id": term, "class_id": cls["id"]}
                    fast, careful = both(body, **ids, subject_name="Предмет")
                    assert fast == careful, (group["id"], term)
                    compared += 1
                    rows += sum(len(v) for v in careful.values())
    finally:
        client.close()
    assert compared > 50 and rows > 10_000  # the whole small school, its edge cases included


def variant(change) -> bytes:
    answer = copy.deepcopy(MINIMAL)
    change(answer["journals"][0])
    return json.dumps(answer).encode()


def set_in(path: str, value):
    """A change setting `journal[a][b]...` (path "marks.0.mark")."""

    def change(journal):
        *head, last = path.split(".")
        node = journal
        for part in head:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return change


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (set_in("marks.0.mark", True), "a mark true: the contract's number rule reads it as text"),
        (set_in("students.0.id", "5001"), "an id as text: a changed layout"),
        (set_in("marks.0.date", "10.09.2025"), "a date that is not ISO"),
        (set_in("classMeeting.1.date", ""), "a lesson without its date"),
        (set_in("attendance.0.classmeetingId", 1), "an absence on a lesson not listed…"),
    ],
)
def test_an_answer_the_bytes_reading_cannot_judge_goes_to_the_careful_reading(change, why):
    answer = variant(change)
    if why.startswith("an absence"):  # …whose reason is missing: the careful reading skips it
        answer = variant(lambda j: (change(j), j["attendance"][0].pop("reason")))
    assert read_journal(answer, **IDS) is None, why


def test_a_float_mark_and_a_bare_date_read_alike_either_way():
    answer = variant(
        lambda j: (
            set_in("marks.0.mark", 4.0)(j),
            set_in("marks.0.date", "2026-09-01")(j),
            set_in("totals.0.marks.0.mark", 4.5)(j),
        )
    )
    fast, careful = both(answer)
    assert fast == careful
    assert [(m["mark"], m["mark_value"], m["entered_at"]) for m in fast["marks"]] == [
        ("4", 4, "2026-09-01T00:00:00"),
        (".", None, None),
    ]


LOGIN = {
    "at": "AT-1",
    "accountInfo": {
        "user": {"id": 7, "name": "x"},
        "userRoles": [{"id": 1, "name": "Администратор"}],
        "currentOrganization": {"id": 39, "name": "s"},
    },
}


def portal_with(journal_body: bytes) -> httpx.MockTransport:
    """A portal that logs the account in and answers the journal with `journal_body`."""
    answers = {
        "/webapi/logindata": {"schoolLogin": True},
        "/webapi/auth/getdata": {"lt": "1", "ver": "2", "salt": "3"},
        "/webapi/login": LOGIN,
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/webapi/grade/journal":
            return httpx.Response(200, content=journal_body)
        return httpx.Response(200, json=answers.get(request.url.path, {}))

    return httpx.MockTransport(handler)


def fetch(body: bytes, **settings) -> dict:
    async def go() -> dict:
        client = PortalClient(
            PortalSettings(base_url="http://portal.test", school_id=39, **settings),
            "admin",
            "secret",
            transport=portal_with(body),
            backoff_s=0,
        )
        async with client:
            await client.login()
            return await fetch_journal(client, year_id=125, **IDS)

    return asyncio.run(go())


def test_the_sync_reads_an_unusual_answer_the_careful_way():
    answer = variant(set_in("marks.0.mark", True))
    assert fetch(answer) == adapter.parse_journal(json.loads(answer), **IDS)
    assert fetch(answer)["marks"][0]["mark"] == "True"


def test_a_bad_value_is_still_named_and_a_broken_body_still_retried():
    with pytest.raises(LayoutError, match="students.*'id'|'id'.*students"):
        fetch(variant(set_in("students.0.id", "5001")), max_retries=1)
    with pytest.raises(Exception, match="not valid JSON"):
        fetch(json.dumps(MINIMAL).encode()[:-40], max_retries=1)


# --- plans (subjectplans/getForSubjectGroup) -------------------------------------------------


def both_plans(answer: bytes, sg_id: int = 1201):
    """(bytes reading, careful reading) of one plan answer."""
    return read_plan(answer, sg_id=sg_id), adapter.parse_plan(json.loads(answer), sg_id)


def test_the_real_plan_reads_the_same_from_its_bytes():
    """The careful reading's rows are asserted in test_portal_adapter_real.py."""
    fast, careful = both_plans((REAL / "vendorshape_subjectplan.json").read_bytes())
    assert fast == careful
    assert careful["plan_lessons"]  # a plan with lessons, not two empty readings


def test_no_plan_is_left_to_the_careful_reading():
    answer = (REAL / "vendorshape_subjectplan_none.json").read_bytes()
    assert both_plans(answer) == (None, {"plans": [], "plan_lessons": []})


def test_every_plan_of_the_simulated_school_reads_the_same_from_its_bytes(school):
    app = make_app(school, as_of=dt.date(2026, 5, 20))
    client = logged_in(app)
    try:
        compared = lessons = 0
        for cls in client.get("/webapi/classes").json():
            groups = client.get("/webapi/subjectgroups", params={"classId": cls["id"]}).json()
            for group in groups:
                answer = client.get(
                    "/webapi/subjectplans/getForSubjectGroup", params={"sgId": group["id"]}
                ).content
                fast, careful = both_plans(answer, group["id"])
                assert fast == careful or (fast is None and not careful["plans"]), group["id"]
                compared += fast is not None
                lessons += len(careful["plan_lessons"])
    finally:
        client.close()
    assert compared > 20 and lessons > 1_000  # every plan of the small school


PLAN = json.loads((REAL / "vendorshape_subjectplan.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "change, why",
    [
        (lambda plan: plan["lessons"][0].update(id="1"), "a text id"),
        (lambda plan: plan["lessons"][0].update(hours=True), "a bool number"),
        (lambda plan: plan["lessons"][0].update(lessonName=5), "a number for a name"),
        (lambda plan: plan["lessons"][0].update(lastStudyDay="01.09.2026"), "a non-ISO date"),
        (lambda plan: plan.pop("lessons"), "no lessons key"),
        (lambda plan: plan.pop("subjectPlanId"), "no plan id key"),
        (lambda plan: plan.update(subjectPlanId=True), "a bool plan id"),
    ],
)
def test_a_plan_the_bytes_reading_cannot_judge_goes_to_the_careful_reading(change, why):
    answer = copy.deepcopy(PLAN)
    change(answer)
    assert read_plan(json.dumps(answer).encode(), sg_id=1201) is None, why
    with pytest.raises(LayoutError):
        adapter.parse_plan(answer, 1201)
