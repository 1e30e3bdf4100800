"""The simulator's staff API, diary and access report against CONTRACT §2–§5."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from bs4 import BeautifulSoup
from simclient import logged_in

from asurso_sync.simulator import build_school, make_app

AS_OF = dt.date(2026, 5, 20)


@pytest.fixture
def app(school):
    return make_app(school, as_of=AS_OF)


@contextlib.contextmanager
def session(app, role, rolegroup=None):
    c = logged_in(app, role, rolegroup)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def admin(app):
    with session(app, "admin") as c:
        yield c


def test_structure_endpoints_field_names(admin):
    ctx = admin.get("/webapi/context").json()
    assert set(ctx) == {
        "user",
        "userId",
        "schoolId",
        "roles",
        "rights",
        "version",
        "schoolyear",
        "organization",
    }
    assert ctx["schoolyear"] == {
        "id": 125,
        "name": "2025/2026",
        "startDate": "2025-09-01T00:00:00",
        "endDate": "2026-08-31T00:00:00",
    }
    card = admin.get("/webapi/schools/107/card").json()
    assert set(card) == {"commonInfo", "managementInfo", "contactInfo"}
    assert set(card["managementInfo"]) == {
        "director",
        "principalUVR",
        "principalAHC",
        "principalIT",
    }
    assert admin.get("/webapi/school/settings", params={"yearId": 125}).json()["maxMark"] == 5
    terms = admin.get("/webapi/terms").json()
    assert terms == [
        {
            "id": 26901,
            "termName": "1 четверть",
            "termTypeId": 1,
            "startDate": "2025-09-01T00:00:00",
            "endDate": "2025-10-26T00:00:00",
            "schoolYearId": 125,
        },
        {
            "id": 26902,
            "termName": "2 четверть",
            "termTypeId": 1,
            "startDate": "2025-11-05T00:00:00",
            "endDate": "2025-12-28T00:00:00",
            "schoolYearId": 125,
        },
        {
            "id": 26903,
            "termName": "3 четверть",
            "termTypeId": 1,
            "startDate": "2026-01-12T00:00:00",
            "endDate": "2026-03-22T00:00:00",
            "schoolYearId": 125,
        },
        {
            "id": 26904,
            "termName": "4 четверть",
            "termTypeId": 1,
            "startDate": "2026-04-01T00:00:00",
            "endDate": "2026-05-25T00:00:00",
            "schoolYearId": 125,
        },
    ]
    vac = admin.get("/webapi/calendar/vacations").json()
    assert vac[0] == {
        "id": 1051,
        "name": "Осенние каникулы",
        "startTime": "2025-10-27T00:00:00",
        "endTime": "2025-11-04T00:00:00",
    }
    assert [v["name"] for v in vac] == [
        "Осенние каникулы",
        "Зимние каникулы",
        "Весенние каникулы",
        "Летние каникулы",
    ]


def test_classes_subjects_groups(admin, school):
    classes = admin.get("/webapi/classes", params={"expand": "chiefs"}).json()
    assert [c["name"] for c in classes] == ["5а", "5б", "5в"]  # 5в: no pupils yet
    first = classes[0]
    assert set(first) == {"id", "name", "grade", "letter", "chiefs"}
    assert first["grade"] == {"id": 5, "name": "5"} and first["letter"] == "а"
    assert first["chiefs"] == [
        {
            "id": school.classes[101].chief_id,
            "name": school.staff[school.classes[101].chief_id].name,
        }
    ]
    assert admin.get("/webapi/classes").json()[0]["chiefs"] is None
    subjects = admin.get("/webapi/subjects").json()
    assert all(set(s) == {"id", "name", "shortName"} for s in subjects)
    assert 9 <= len(subjects) <= 13
    groups = admin.get(
        "/webapi/subjectgroups", params={"classId": 101, "expand": "teachers,terms"}
    ).json()
    assert all(
        set(g) == {"id", "name", "subjectId", "classId", "teachers", "terms", "hours"}
        for g in groups
    )
    assert groups[0]["name"] == "5а/Русский язык"
    assert groups[0]["terms"] == [26901, 26902, 26903, 26904]
    half_year = [g["terms"] for g in groups if g["name"] == "5а/Информатика"]
    # a first- and a second-half-year course: each its own terms only
    assert half_year == [[26901, 26902], [26903, 26904]]
    english = [g["name"] for g in groups if "Английский" in g["name"]]
    assert english == ["5а/Английский язык (1 подгр.)", "5а/Английский язык (2 подгр.)"]
    plain = admin.get("/webapi/subjectgroups", params={"classId": 101}).json()
    assert plain[0]["teachers"] is None and plain[0]["terms"] is None
    assert len(admin.get("/webapi/subjectgroups").json()) == len(school.groups)


def test_student_list_with_extensions(admin, school):
    rows = admin.get("/webapi/grade/studentList", params={"classId": 101}).json()
    pupils = [s for s in school.students.values() if s.class_id == 101]
    assert len(rows) == len(pupils)
    first = rows[0]
    assert set(first) == {
        "id",
        "fullName",
        "free",
        "individualEduc",
        "addedDate",
        "healthGroupFilled",
    }
    assert rows == sorted(rows, key=lambda r: (r["fullName"], r["id"]))
    st = school.students[first["id"]]
    assert first == {
        "id": st.id,
        "fullName": st.name,
        "free": False,
        "individualEduc": st.individual,
        "addedDate": st.added,
        "healthGroupFilled": st.health_filled,
    }


def test_types_and_reasons(admin):
    types = admin.get("/webapi/grade/assignment/types", params={"all": "true"}).json()
    by_id = {t["id"]: t for t in types}
    assert by_id[3] == {"id": 3, "name": "Домашнее задание", "abbr": "ДЗ", "order": 2}
    assert by_id[4]["name"] == "Контрольная работа" and by_id[10]["name"] == "Ответ на уроке"
    assert 40 not in by_id and 68 not in by_id
    assert sorted(by_id) == [*range(1, 15), *range(16, 19), *range(21, 28), 29, *range(31, 39)]
    reasons = admin.get("/webapi/grade/attendance/reasons").json()
    assert [r["mark"] for r in reasons] == ["Н", "О", "УП", "НП", "ОСВ"]
    assert reasons[0] == {"mark": "Н", "localMark": "Н", "name": "Отсутствовал"}


def test_subject_plan_shape_and_missing_plan(admin, school):
    with_plan = next(g for g in sorted(school.groups) if g in school.plans)
    body = admin.get("/webapi/subjectplans/getForSubjectGroup", params={"sgId": with_plan}).json()
    assert set(body) == {"subjectPlanId", "createdDate", "lessons"}
    assert set(body["lessons"][0]) == {
        "id",
        "lessonName",
        "hours",
        "hoursStudied",
        "lastStudyDay",
        "homeAssignment",
    }
    studied = [pl["hoursStudied"] for pl in body["lessons"]]
    assert studied[0] == 1 and studied[-1] == 0
    missing = next(g for g in sorted(school.groups) if g not in school.plans)
    assert admin.get(
        "/webapi/subjectplans/getForSubjectGroup", params={"sgId": missing}
    ).json() == {"subjectPlanId": None, "createdDate": None, "lessons": []}


def journal(client, sg, term=26901, class_id=101):
    return client.get(
        "/webapi/grade/journal",
        params={"yearId": 125, "classId": class_id, "grade": -1, "sgId": sg, "termId": term},
    )


def test_journal_layout(admin, school):
    r = journal(admin, 1201)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"journals", "editLimit", "markSettings", "lastEditCmId"}
    assert body["markSettings"] == {"minMark": 2, "maxMark": 5, "useWeight": True}
    assert body["editLimit"] == {"readOnly": True, "limitPastEdit": True, "limitPastDays": 7}
    j = body["journals"][0]
    assert set(j) == {
        "subjectGroupId",
        "students",
        "classMeeting",
        "marks",
        "attendance",
        "totals",
        "lastAccess",
    }
    assert set(j["students"][0]) == {"id", "fullName", "free", "individualEduc"}
    meeting = j["classMeeting"][0]
    assert set(meeting) <= {
        "id",
        "date",
        "number",
        "isTkr",
        "lessonId",
        "lessonName",
        "assignments",
    }
    first = school.lessons_by_group_term[(1201, 26901)][0]
    assert meeting == {
        **meeting,
        "id": first.id,
        "date": first.date.isoformat() + "T00:00:00",
        "number": first.number,
        "isTkr": False,
    }
    a = next(m["assignments"][0] for m in j["classMeeting"] if "assignments" in m)
    assert set(a) == {"id", "typeId", "assignmentName", "weight", "dueDate", "createdDate"}
    assert set(j["marks"][0]) == {"studentId", "assignmentId", "mark", "dutyMark", "weight", "date"}
    assert set(j["attendance"][0]) == {"classmeetingId", "studentId", "reason", "date"}
    assert j["totals"][0]["termId"] == 26901
    assert set(j["totals"][0]["marks"][0]) == {"studentId", "mark", "date"}
    assert set(j["lastAccess"]) == {"date", "nickName"}
    assert body["lastEditCmId"] == j["classMeeting"][-1]["id"]


def test_journal_content_kinds(admin, school):
    """Across the small school: unknown typeIds, «точки», «н/а», missing assignments keys, weights."""
    type_ids, weights, duty, na, no_assign = set(), set(), 0, 0, 0
    for sg in school.groups:
        for term in (26901, 26902, 26903, 26904):
            j = journal(admin, sg, term).json()["journals"][0]
            for m in j["classMeeting"]:
                if "assignments" not in m:
                    no_assign += 1
                for a in m.get("assignments", []):
                    type_ids.add(a["typeId"])
                    weights.add(a["weight"])
            for mk in j["marks"]:
                if mk["dutyMark"]:
                    duty += 1
                    assert mk["mark"] is None
                else:  # a number, or a text result (the small school's one «осв»)
                    assert isinstance(mk["mark"], int) or mk["mark"] == "осв"
            na += sum(1 for t in j["totals"][0]["marks"] if t["mark"] == "н/а")
    assert {3, 4, 10} <= type_ids and type_ids & {40, 68}
    assert weights == {10, 20}
    assert duty > 0 and na > 0 and no_assign > 0


def test_teacher_sees_only_own_groups(app, school):
    with session(app, "teacher") as t:
        groups = t.get("/webapi/subjectgroups").json()
        own = {g["id"] for g in groups}
        teacher_id = next(u.staff_id for u in school.users if u.login == "uchitel1")
        assert own == {g.id for g in school.groups.values() if teacher_id in g.teacher_ids}
        foreign = next(g for g in sorted(school.groups) if g not in own)
        assert (
            journal(
                t, next(iter(own)), class_id=school.groups[next(iter(own))].class_id
            ).status_code
            == 200
        )
        assert journal(t, foreign).status_code == 403
        assert (
            t.get("/webapi/subjectplans/getForSubjectGroup", params={"sgId": foreign}).status_code
            == 403
        )
    with session(app, "deputy") as d:
        assert journal(d, foreign).status_code == 200


def test_family_accounts_cannot_read_staff_endpoints(app):
    with session(app, "parent") as p:
        assert (
            p.get("/webapi/grade/journal", params={"sgId": 1201, "termId": 26901}).status_code
            == 403
        )
        assert p.get("/webapi/classes").status_code == 403


def test_determinism_same_seed_same_bytes(school):
    other = build_school(size="small", seed=1, year_start=2025)
    out = []
    for sch in (school, other):
        app = make_app(sch, as_of=AS_OF)
        with session(app, "admin") as c:
            out.append(
                [journal(c, sg, term).content for sg in (1201, 1205) for term in (26901, 26903)]
                + [c.get("/webapi/grade/studentList", params={"classId": 102}).content]
            )
    assert out[0] == out[1]
    different = build_school(size="small", seed=2, year_start=2025)
    app = make_app(different, as_of=AS_OF)
    with session(app, "admin") as c:
        assert c.get("/webapi/grade/studentList", params={"classId": 102}).content != out[0][-1]


def _state(client, school):
    marks, topics, absences = {}, {}, {}
    for sg, term in [(sg, term) for sg in school.groups for term in (26903, 26904)]:
        j = journal(client, sg, term).json()["journals"][0]
        for mk in j["marks"]:
            marks[(mk["assignmentId"], mk["studentId"])] = (mk["mark"], mk["date"])
        for m in j["classMeeting"]:
            for a in m.get("assignments", []):
                if a["typeId"] == 10:
                    topics[a["id"]] = a["assignmentName"]
        for ab in j["attendance"]:
            absences[(ab["classmeetingId"], ab["studentId"])] = (ab["reason"], ab["date"])
    return marks, topics, absences


def test_clock_moves_marks_topics_absences(app, school):
    with session(app, "admin") as c:
        app.set_as_of(dt.date(2026, 5, 20))
        m1, t1, a1 = _state(c, school)
        app.set_as_of(dt.date(2026, 5, 27))
        m2, t2, a2 = _state(c, school)
    new = m2.keys() - m1.keys()
    deleted = m1.keys() - m2.keys()
    changed = [k for k in m1.keys() & m2.keys() if m1[k][0] != m2[k][0]]
    assert new and deleted and changed
    assert all(m1[k][1] == m2[k][1] for k in changed)  # a changed mark keeps its date
    filled = [k for k in t1.keys() & t2.keys() if t1[k] == "---Не указана---" != t2[k]]
    assert filled
    reasons = [k for k in a1.keys() & a2.keys() if a1[k][0] == "Н" and a2[k][0] in ("УП", "НП")]
    assert reasons and all(a1[k][1] == a2[k][1] for k in reasons)
    assert all(date < "2026-05-21" for _mark, date in m1.values())


def test_diary_parent_sees_both_children_pupil_only_self(app, school):
    with session(app, "parent") as p:
        init = p.get("/webapi/student/diary/init").json()
        kids = init["students"]
        assert len(kids) == 2 and {k["className"] for k in kids} == {"5а", "5б"}
        assert set(kids[0]) >= {"studentId", "nickName", "className", "classId"}
        assert init["currentStudentId"] == 0
        sid = kids[0]["studentId"]
        week = {"studentId": sid, "weekStart": "2026-05-18", "weekEnd": "2026-05-24", "yearId": 125}
        d = p.get("/webapi/student/diary", params=week).json()
        assert set(d) >= {"weekStart", "weekEnd", "weekDays", "termName", "className"}
        assert [day["date"] for day in d["weekDays"]] == [
            "2026-05-18T00:00:00",
            "2026-05-19T00:00:00",
            "2026-05-20T00:00:00",
        ]
        lesson = d["weekDays"][0]["lessons"][0]
        assert set(lesson) - {"assignments"} == {
            "classmeetingId",
            "day",
            "number",
            "relay",
            "room",
            "startTime",
            "endTime",
            "subjectName",
            "isEaLesson",
        }
        lessons = [les for day in d["weekDays"] for les in day["lessons"]]
        assert any("assignments" not in les for les in lessons) or all(
            "assignments" in les for les in lessons
        )
        marked = [a for les in lessons for a in les.get("assignments", []) if "mark" in a]
        assert all(a["mark"]["studentId"] == sid for a in marked)
        assert p.get("/webapi/student/diary/pastMandatory", params=week).status_code == 200
    with session(app, "student") as s:
        me = s.get("/webapi/student/diary/init").json()["students"]
        assert len(me) == 1
        other = {
            "studentId": sid,
            "weekStart": "2026-05-18",
            "weekEnd": "2026-05-24",
            "yearId": 125,
        }
        assert s.get("/webapi/student/diary", params=other).status_code == 403


def test_access_report_layout_and_encoding(admin, school):
    at = admin.headers["at"]
    form = {"AT": at, "VER": "1", "RPNAME": "Доступ к журналу", "RPTID": "JournalAccess"}
    assert admin.post("/asp/Reports/ReportJournalAccess.asp", data=form).status_code == 200
    r = admin.post(
        "/asp/Reports/JournalAccess.asp",
        data={
            "AT": at,
            "VER": "1",
            "LoginType": "0",
            "RPTID": "JournalAccess",
            "PCLID": "101",
            "ADT": "1.12.2025",
            "DDT": "7.12.2025",
        },
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html"
    assert b"charset=windows-1251" in r.content
    r.content.decode("cp1251")
    soup = BeautifulSoup(r.content, "html.parser")
    assert (
        soup.select_one("h2.main-report-title").get_text() == "Отчет о доступе к классному журналу"
    )
    rows = soup.select("table.table-print tr")
    assert [th.get_text() for th in rows[0].find_all("th")] == [
        "ФИО",
        "Роль",
        "Класс",
        "Дата и время входа",
    ]
    body = [[td.get_text() for td in tr.find_all("td")] for tr in rows[1:]]
    assert body
    roles = {row[1] for row in body}
    assert roles == {"Учитель", "Заместитель директора"}
    seen = set()
    for name, _role, klass, stamp in body:
        assert klass == "5а"
        when = dt.datetime.strptime(stamp, "%d.%m.%Y %H:%M")
        assert dt.date(2025, 12, 1) <= when.date() <= dt.date(2025, 12, 7)
        assert (name, when.date()) not in seen  # the first entry per user, class and day
        seen.add((name, when.date()))


def test_unknown_endpoint_is_404(admin):
    assert admin.get("/webapi/nothing").status_code == 404


def test_late_ktp_appears_when_created(app, school):
    late = next(
        p for p in sorted(school.plans.values(), key=lambda p: p.id) if p.created[5:7] == "09"
    )
    created = dt.date.fromisoformat(late.created[:10])
    with session(app, "admin") as c:
        app.set_as_of(created - dt.timedelta(days=1))
        before = c.get(
            "/webapi/subjectplans/getForSubjectGroup", params={"sgId": late.sg_id}
        ).json()
        app.set_as_of(created)
        after = c.get("/webapi/subjectplans/getForSubjectGroup", params={"sgId": late.sg_id}).json()
    assert before == {"subjectPlanId": None, "createdDate": None, "lessons": []}
    assert after["subjectPlanId"] == late.id and after["createdDate"] == late.created
    assert len(after["lessons"]) == len(late.lessons)


def test_bad_parameters_are_client_errors(admin):
    assert (
        admin.get("/webapi/grade/journal", params={"sgId": "abc", "termId": 26901}).status_code
        == 400
    )
    assert (
        admin.get("/webapi/grade/journal", params={"sgId": 99999, "termId": 26901}).status_code
        == 404
    )
    assert (
        admin.get("/webapi/subjectplans/getForSubjectGroup", params={"sgId": "x"}).status_code
        == 404
    )
    assert admin.post("/webapi/grade/journal").status_code == 405
