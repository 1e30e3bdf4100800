"""The simulator's real-portal variants (CONTRACT §7, `--quirks`): each quirk serves the shape of
the real file in `../shared/portal/real/` (copied to `tests/fixtures/real/` when present), and
the default (no quirks) keeps the contract's §1–§6 shapes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from simclient import account, hashes, logged_in, login, sim_client

from asurso_sync.cli import cli
from asurso_sync.simulator import QUIRKS, make_app
from asurso_sync.simulator.model import cutoff
from asurso_sync.simulator.quirks import parse_quirks

AS_OF = dt.date(2026, 5, 20)
YEAR_ID = 125
REAL_DIRS = (
    Path(__file__).resolve().parent / "fixtures" / "real",
    Path("/work/shared/portal/real"),
)


def real(name: str):
    """A file of the real-portal record (the test fixtures' copy, else the shared original)."""
    for folder in REAL_DIRS:
        if (folder / name).exists():
            text = (folder / name).read_bytes()
            return text if name.endswith(".html") else json.loads(text)
    raise FileNotFoundError(
        f"real/{name}: neither in tests/fixtures/real/ nor in the shared record"
    )


def keys(item: dict) -> set[str]:
    return set(item) - {"_note"}


def app_with(school, quirks: str | None = None):
    return make_app(school, as_of=AS_OF, quirks=quirks)


def long_form(acc: dict, auth: dict) -> dict:
    """The asurso.ru long login form (keys exactly so spelled; Samara: cid=2, sid=1, sft=2)."""
    pw, pw2 = hashes(acc["password"], auth["salt"])
    return {
        "LoginType": 1,
        "cid": 2,
        "sid": 1,
        "pid": -1,
        "cn": 1,
        "sft": 2,
        "scid": acc["school_id"],
        "UN": acc["login"],
        "PW": pw,
        "lt": auth["lt"],
        "pw2": pw2,
        "ver": auth["ver"],
    }


def login_long(
    client: httpx.Client, acc: dict, referer: str = "http://sim/about.html"
) -> httpx.Response:
    client.get("/webapi/logindata")
    auth = client.post("/webapi/auth/getdata").json()
    return client.post("/webapi/login", data=long_form(acc, auth), headers={"Referer": referer})


# --- the quirk list --------------------------------------------------------------------------------


def test_quirk_names_parse_and_all_is_a_syncable_set():
    assert parse_quirks(None) == frozenset()
    assert parse_quirks("") == frozenset()
    assert parse_quirks("roles_empty, plan_zero") == {"roles_empty", "plan_zero"}
    assert parse_quirks("all") == {
        "roles_empty",
        "journal_no_termid",
        "journal_sparse",
        "no_teachers_expand",
        "plan_zero",
        "diary_class0",
        "empty_cookie",
        "long_login",
        "access_2013",
        "year_switch",
    }
    assert parse_quirks("all,access_2018,roles_object") == (
        parse_quirks("all") - {"access_2013", "roles_empty"} | {"access_2018", "roles_object"}
    )
    assert parse_quirks("all,esia_only_staff") == parse_quirks("all") | {"esia_only_staff"}
    with pytest.raises(ValueError, match="unknown quirk nope"):
        parse_quirks("nope")
    with pytest.raises(ValueError, match="access_2013 and access_2018 exclude each other"):
        parse_quirks("access_2013,access_2018")


def test_simulate_help_documents_every_quirk():
    out = CliRunner().invoke(cli, ["simulate", "--help"], terminal_width=200).output
    flat = " ".join(out.split())
    for name in (*QUIRKS, "all"):
        assert name in flat


def test_simulate_rejects_an_unknown_quirk():
    result = CliRunner().invoke(cli, ["simulate", "--quirks", "roles_empty,nope", "--accounts"])
    assert result.exit_code != 0
    assert "--quirks: unknown quirk nope" in result.output


def test_simulate_prints_the_school_name_and_quirks_at_start(monkeypatch):
    def interrupt(_seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr("asurso_sync.cli.simulate.time.sleep", interrupt)
    result = CliRunner().invoke(
        cli,
        ["simulate", "--port", "0", "--as-of", "2026-05-20", "--quirks", "plan_zero,roles_empty"],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == (
        "school: МБОУ Школа № 3 г.о. Самара (short name МБОУ Школа № 3, school_id 107)"
        " — what `init` searches for"
    )
    assert lines[2] == "quirks: plan_zero,roles_empty"


# --- login -------------------------------------------------------------------------------------------


def test_default_login_answer_and_logindata_keep_the_contract_shape(school):
    app = app_with(school)
    client = sim_client(app)
    data = client.get("/webapi/logindata").json()
    assert data["version"] == "5.44.7850.27567"
    assert (data["schoolLogin"], data["esiaLogin"], data["esiaMainAuth"]) == (True, True, False)
    assert keys(real("logindata_vendor_template.json")) <= set(data)
    answer = login(client, account(app, "admin"))
    assert answer.json()["accountInfo"]["userRoles"] == [{"id": 1, "name": "Администратор"}]
    assert answer.headers.get_list("set-cookie") == [
        f"ESRNSec={client.cookies['ESRNSec']}; path=/; HttpOnly"
    ]
    client.headers["at"] = answer.json()["at"]
    assert client.get("/webapi/context").json()["version"] == "5.44.7850.27567"


def test_roles_empty_answers_the_asurso_login_shape_and_context_names_the_role(school):
    app = app_with(school, "roles_empty")
    client = sim_client(app)
    answer = login(client, account(app, "teacher")).json()
    shape = real("login_asurso_2022.json")
    assert set(answer) == set(shape)
    assert set(answer["accountInfo"]) == set(shape["accountInfo"])
    assert answer["accountInfo"]["userRoles"] == []
    client.headers["at"] = answer["at"]
    context = client.get("/webapi/context").json()
    assert (context["roles"], context["rights"]) == (["Учитель"], ["Journal.View", "Reports.View"])
    assert client.get("/webapi/mysettings").json()["roles"] == ["Teacher"]
    # the staff account's diary: 401, and the session stays alive
    diary = client.get("/webapi/student/diary/init")
    assert (diary.status_code, diary.headers.get("auth-error")) == (401, None)
    assert client.get("/webapi/context").status_code == 200


def test_roles_empty_parent_is_a_parent_in_context_and_mysettings(school):
    app = app_with(school, "roles_empty")
    client = sim_client(app)
    client.headers["at"] = login(client, account(app, "parent")).json()["at"]
    context = client.get("/webapi/context").json()
    assert (context["roles"], context["rights"]) == (["Родитель"], ["Diary.View"])
    settings = client.get("/webapi/mysettings").json()
    assert settings["roles"] == ["Parent"]
    assert set(settings) == {
        "userId",
        "firstName",
        "lastName",
        "middleName",
        "loginName",
        "birthDate",
        "roles",
        "schoolyearId",
        "windowsAccount",
        "mobilePhone",
        "preferedCom",
        "email",
        "existsPhoto",
        "userSettings",
    }
    assert settings["schoolyearId"] == YEAR_ID
    assert client.get("/webapi/student/diary/init").status_code == 200


def test_roles_object_is_the_swagger_object(school):
    app = app_with(school, "roles_object")
    user = next(u for u in school.users if u.kind == "parent")
    answer = login(sim_client(app), account(app, "parent")).json()
    shape = real("login_swagger_5.10.json")
    assert set(answer["accountInfo"]) == set(shape["accountInfo"])
    assert answer["accountInfo"]["userRoles"] == {
        "userId": user.id,
        "schoolId": 107,
        "role": {"id": 2, "name": "Родитель"},
    }
    assert set(answer["accountInfo"]["userRoles"]) == set(shape["accountInfo"]["userRoles"])


def test_roles_nested_is_the_swagger_role_list(school):
    app = app_with(school, "roles_nested")
    user = next(u for u in school.users if u.kind == "multirole")
    answer = login(sim_client(app), account(app, "multirole")).json()
    shape = real("login_swagger_5.10_rolelist.json")["accountInfo"]["userRoles"][0]
    assert answer["accountInfo"]["userRoles"] == [
        {"userId": user.id, "schoolId": 107, "role": {"id": 3, "name": "Учитель"}},
        {"userId": user.id, "schoolId": 107, "role": {"id": 2, "name": "Родитель"}},
    ]
    assert set(answer["accountInfo"]["userRoles"][0]) == set(shape)


def test_empty_cookie_follows_the_real_one_and_an_empty_session_cookie_is_refused(school):
    app = app_with(school, "empty_cookie")
    answer = login(sim_client(app), account(app, "admin"))
    real_cookie = answer.headers.get_list("set-cookie")[0]
    esrn = real_cookie.split(";")[0].split("=", 1)[1]
    assert esrn
    assert answer.headers.get_list("set-cookie") == [
        f"ESRNSec={esrn}; path=/; HttpOnly",
        "ESRNSec=;",
    ]
    at = answer.json()["at"]
    # the server reads the first ESRNSec of the Cookie header, as ASP.NET does
    both = sim_client(app).get(
        "/webapi/context", headers={"at": at, "Cookie": f"ESRNSec=; ESRNSec={esrn}"}
    )
    assert (both.status_code, both.headers["auth-error"]) == (401, "SessionExpired")
    kept = sim_client(app).get("/webapi/context", headers={"at": at, "Cookie": f"ESRNSec={esrn}"})
    assert kept.status_code == 200


def test_both_login_forms_pass_by_default(school):
    app = app_with(school)
    assert login(sim_client(app), account(app, "admin")).status_code == 200
    assert login_long(sim_client(app), account(app, "admin")).status_code == 200


def test_long_login_refuses_the_short_form(school):
    app = app_with(school, "long_login")
    short = login(sim_client(app), account(app, "admin"))
    assert (short.status_code, short.json()) == (
        409,
        {"message": "Неправильный пароль или имя пользователя"},
    )
    wrong_page = login_long(sim_client(app), account(app, "admin"), referer="http://sim/")
    assert wrong_page.status_code == 409
    client = sim_client(app)
    answer = login_long(client, account(app, "admin"))
    assert answer.status_code == 200
    client.headers["at"] = answer.json()["at"]
    assert client.get("/webapi/context").json()["roles"] == ["Администратор"]


def test_esia_only_staff_refuses_staff_passwords_and_keeps_parents(school):
    app = app_with(school, "esia_only_staff")
    data = sim_client(app).get("/webapi/logindata").json()
    assert (data["schoolLogin"], data["esiaLogin"], data["esiaMainAuth"]) == (True, True, True)
    refusal = {
        "message": "Для вашей роли вход по логину и паролю запрещён. Войдите через Госуслуги (ЕСИА)"
    }
    for role in ("admin", "deputy", "teacher"):
        answer = login(sim_client(app), account(app, role))
        assert (answer.status_code, answer.json()) == (409, refusal)
    wrong = login(sim_client(app), account(app, "admin"), password="не тот")
    assert wrong.json() == {"message": "Неправильный пароль или имя пользователя"}
    assert login(sim_client(app), account(app, "parent")).status_code == 200
    # a teacher who is also a parent gets in as the parent only
    multi = login(sim_client(app), account(app, "multirole"))
    assert multi.json()["accountInfo"]["userRoles"] == [{"id": 2, "name": "Родитель"}]
    as_teacher = login(sim_client(app), account(app, "multirole"), rolegroup=3)
    assert (as_teacher.status_code, as_teacher.json()) == (409, refusal)


def test_esia_only_turns_password_login_off(school):
    app = app_with(school, "esia_only")
    assert sim_client(app).get("/webapi/logindata").json()["schoolLogin"] is False
    answer = login(sim_client(app), account(app, "parent"))
    assert (answer.status_code, answer.json()) == (
        409,
        {"message": "Вход по логину и паролю отключён. Войдите через Госуслуги (ЕСИА)"},
    )


# --- staff structure -------------------------------------------------------------------------------


def teachers_of(school, g) -> list[dict]:
    return [{"id": t, "name": school.staff[t].name} for t in g.teacher_ids]


def test_no_teachers_expand_serves_the_vendor_subjectgroups(school):
    app = app_with(school, "no_teachers_expand")
    admin = logged_in(app, "admin")
    expand = [("expand", "terms"), ("expand", "useInfo"), ("expand", "teachers")]
    groups = admin.get("/webapi/subjectgroups", params=[("classId", 101), *expand]).json()
    shape = real("vendorshape_subjectgroups_no_teachers.json")[0]
    g = school.groups[1229]  # 5а/Информатика, a first-half-year course
    assert next(x for x in groups if x["id"] == 1229) == {
        "id": 1229,
        "name": "5а/Информатика",
        "subjectId": g.subject_id,
        "classId": 101,
        "terms": [{"id": 26901, "name": "1 четверть"}, {"id": 26902, "name": "2 четверть"}],
        "hours": g.hours,
    }
    assert all(set(item) == keys(shape) | {"hours"} for item in groups)
    assert [item["id"] for item in groups] == sorted(
        k for k, v in school.groups.items() if v.class_id == 101
    )
    bare = admin.get("/webapi/subjectgroups", params={"classId": 101}).json()
    assert {item["terms"] for item in bare} == {None}
    # the teachers come from subjectgroups/terms
    assert admin.get(
        "/webapi/subjectgroups/terms", params={"classId": 101, "sgId": 1229}
    ).json() == [
        {"termId": 26901, "termName": "1 четверть", "teachers": teachers_of(school, g)},
        {"termId": 26902, "termName": "2 четверть", "teachers": teachers_of(school, g)},
    ]


def test_subjectgroups_terms_and_teacher_subjectgroups_are_served_in_every_mode(school):
    app = app_with(school)
    admin = logged_in(app, "admin")
    g = school.groups[1201]
    assert admin.get("/webapi/subjectgroups/terms", params={"sgId": 1201}).json() == [
        {"termId": t.id, "termName": t.name, "teachers": teachers_of(school, g)}
        for t in school.calendar.terms
    ]
    assert admin.get("/webapi/subjectgroups/terms", params={"sgId": 1}).status_code == 404
    assert admin.get("/webapi/users/teacher/subjectgroups").json() == []  # teaches nothing
    teacher = logged_in(app, "teacher")
    me = next(u for u in school.users if u.login == "uchitel1").staff_id
    own = teacher.get(
        "/webapi/users/teacher/subjectgroups", params={"expand": "teachers,terms"}
    ).json()
    assert [item["id"] for item in own] == sorted(
        k for k, v in school.groups.items() if me in v.teacher_ids
    )
    assert own == teacher.get("/webapi/subjectgroups", params={"expand": "teachers,terms"}).json()
    other = next(k for k, v in school.groups.items() if me not in v.teacher_ids)
    assert teacher.get("/webapi/subjectgroups/terms", params={"sgId": other}).status_code == 403
    # the contract's expand, default mode: teachers and term ids
    item = admin.get("/webapi/subjectgroups", params={"expand": "teachers,terms"}).json()[0]
    assert (item["teachers"], item["terms"]) == (
        teachers_of(school, g),
        [t.id for t in school.calendar.terms],
    )


def test_plan_zero_is_the_vendor_no_plan(school):
    without = sorted(k for k in school.groups if k not in school.plans)
    assert without, "the small school has groups without КТП"
    shape = real("vendorshape_subjectplan_none.json")
    quirky = logged_in(app_with(school, "plan_zero"), "admin")
    plan = quirky.get("/webapi/subjectplans/getForSubjectGroup", params={"sgId": without[0]})
    assert plan.json() == {k: v for k, v in shape.items() if k != "_note"}
    default = logged_in(app_with(school), "admin")
    plan = default.get("/webapi/subjectplans/getForSubjectGroup", params={"sgId": without[0]})
    assert plan.json() == {"subjectPlanId": None, "createdDate": None, "lessons": []}


# --- the journal -----------------------------------------------------------------------------------


def journal(client, sg_id: int, term_id: int) -> dict:
    params = {"yearId": YEAR_ID, "sgId": sg_id, "termId": term_id}
    return client.get("/webapi/grade/journal", params=params).json()["journals"][0]


def test_journal_no_termid_totals_are_the_vendor_shape(school):
    quirky = journal(logged_in(app_with(school, "journal_no_termid"), "admin"), 1201, 26901)
    default = journal(logged_in(app_with(school), "admin"), 1201, 26901)
    shape = real("vendorshape_journal_minimal.json")["journals"][0]["totals"]
    assert [set(t) for t in quirky["totals"]] == [set(t) for t in shape] == [{"marks"}]
    assert default["totals"] == [{"termId": 26901, "marks": quirky["totals"][0]["marks"]}]
    assert {k: v for k, v in quirky.items() if k != "totals"} == {
        k: v for k, v in default.items() if k != "totals"
    }


def test_journal_sparse_leaves_out_empty_lists_and_null_totals(school):
    client = logged_in(app_with(school, "journal_sparse"), "admin")
    empty = journal(client, 1229, 26903)  # Информатика is not taught in term 3
    shape = real("vendorshape_journal_no_marks_attendance.json")["journals"][0]
    assert set(empty) == {"subjectGroupId", "students", "classMeeting", "totals", "lastAccess"}
    assert set(empty) - {"totals"} <= set(shape) - {"marks", "attendance"}
    assert (empty["classMeeting"], empty["totals"]) == ([], None)
    assert real("vendorshape_journal_totals_null.json")["journals"][0]["totals"] is None
    default = journal(logged_in(app_with(school), "admin"), 1229, 26903)
    assert (default["marks"], default["attendance"], default["totals"]) == (
        [],
        [],
        [{"termId": 26903, "marks": []}],
    )
    full = journal(client, 1201, 26901)
    assert full["marks"] and full["attendance"] and full["totals"][0]["marks"]


# --- the diary -------------------------------------------------------------------------------------


def test_diary_class0_names_no_class(school):
    app = app_with(school, "diary_class0")
    parent = logged_in(app, "parent")
    init = parent.get("/webapi/student/diary/init").json()
    shape = real("diary_init_netcity_2019.json")["students"][0]
    user = next(u for u in school.users if u.kind == "parent")
    assert [set(s) for s in init["students"]] == [set(shape)] * 2
    assert [(s["studentId"], s["classId"], s["className"]) for s in init["students"]] == [
        (sid, 0, None) for sid in user.children
    ]
    week = parent.get(
        "/webapi/student/diary",
        params={
            "studentId": user.children[0],
            "weekStart": "2026-05-18",
            "weekEnd": "2026-05-24",
        },
    ).json()
    assert week["className"] == school.classes[school.students[user.children[0]].class_id].name


# --- the journal access report ---------------------------------------------------------------------


def report(client, form: dict) -> BeautifulSoup:
    client.post("/asp/Reports/ReportJournalAccess.asp", data={"RPTID": "JournalAccess"})
    page = client.post("/asp/Reports/JournalAccess.asp", data=form)
    assert page.status_code == 200
    assert "charset" not in page.headers["content-type"]
    return BeautifulSoup(page.content, "html.parser")


def mark_times(school, sg_id: int, lo: str = "", hi: str = "9999") -> list[tuple[str, str]]:
    """(time, action) of every entry/change/deletion of the group's marks served at AS_OF."""
    cut = cutoff(AS_OF)
    lesson_ids = {les.id for les in school.lessons_by_group.get(sg_id, ())}
    assignment_ids = {a.id for a in school.assignments.values() if a.lesson_id in lesson_ids}
    out = []
    for m in school.marks:
        if m.assignment_id in assignment_ids:
            for when, action in (
                (m.date, "Выставление оценки"),
                (m.changed_at, "Изменение оценки"),
                (m.deleted_at, "Удаление оценки"),
            ):
                if when is not None and when < cut and lo <= when < hi:
                    out.append((when, action))
    return sorted(out)


def dmy_hm(when: str) -> str:
    return f"{when[8:10]}.{when[5:7]}.{when[:4]} {when[11:16]}"


def test_access_2013_prints_the_last_change_of_marks_per_subject_group(school):
    client = logged_in(app_with(school, "access_2013"), "admin")
    form_page = client.post("/asp/Reports/ReportJournalAccess.asp", data={"RPTID": "JournalAccess"})
    form = BeautifulSoup(form_page.content, "html.parser")
    assert form.select_one("select")["name"] == "PCLID_IUP"
    assert form.select_one("input[name=ADT]") is None
    soup = report(client, {"RPTID": "JournalAccess", "PCLID_IUP": -1})
    sample = BeautifulSoup(real("vendorshape_journalaccess_2013_asp.html"), "html.parser")
    header = [td.get_text() for td in sample.select("table.ThinTable tr")[0].find_all("td")]
    subtitles = [d.get_text() for d in soup.select("div.subtitle")]
    ordered = sorted(school.classes.values(), key=lambda c: (c.grade, c.letter))
    assert subtitles == [f"{k.name}, {school.staff[k.chief_id].name}" for k in ordered]
    tables = soup.select("table.ThinTable")
    first = tables[0].find_all("tr")
    assert [td.get_text() for td in first[0].find_all("td")] == header
    groups = sorted(
        (g for g in school.groups.values() if g.class_id == ordered[0].id),
        key=lambda g: (g.name, g.id),
    )
    expected = []
    for g in groups:
        times = mark_times(school, g.id)
        if times:
            who = school.staff[g.teacher_ids[0]].nick
            expected.append([g.name, dmy_hm(times[-1][0]).replace(" ", "\xa0"), who])
        else:
            expected.append([g.name, "-", "-"])
    assert [[td.get_text() for td in tr.find_all("td")] for tr in first[1:]] == expected
    assert ["5а/Информатика", "-", "-"] in expected  # no marks in that course
    one = report(client, {"RPTID": "JournalAccess", "PCLID_IUP": ordered[1].id})
    assert [d.get_text() for d in one.select("div.subtitle")] == subtitles[1:2]


def test_access_2018_prints_one_7_column_table_among_two(school):
    client = logged_in(app_with(school, "access_2018"), "admin")
    soup = report(client, {"RPTID": 3, "PCLID": 101, "ADT": "11.05.2026", "DDT": "17.05.2026"})
    sample = BeautifulSoup(real("vendorshape_journalaccess_2018_7col.html"), "html.parser")
    tables = soup.select("table.table-print")
    assert len(tables) == len(sample.select("table.table-print")) == 2
    assert tables[0].get_text() == "Учебный год: 2025/2026"
    header = [th.get_text() for th in tables[1].find_all("th")]
    assert header == [th.get_text() for th in sample.select("table.table-print")[1].find_all("th")]
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in tables[1].find_all("tr")[1:]]
    terms = {t.id: t.name for t in school.calendar.terms}
    expected = []
    for g in school.groups.values():
        if g.class_id != 101:
            continue
        for when, action in mark_times(school, g.id, "2026-05-11", "2026-05-18"):
            expected.append((when, school.subjects[g.subject_id].name, action))
    assert len(rows) == len(expected) > 0
    assert sorted((r[2], r[1], r[6]) for r in rows) == sorted(
        (dmy_hm(w), s, a) for w, s, a in expected
    )
    assert {r[0] for r in rows} == {"5а"}
    assert {r[5] for r in rows} <= set(terms.values())
    assert [r[2][6:10] + r[2][3:5] + r[2][:2] + r[2][11:] for r in rows] == sorted(
        r[2][6:10] + r[2][3:5] + r[2][:2] + r[2][11:] for r in rows
    )


def test_default_access_report_keeps_the_contract_layout(school):
    client = logged_in(app_with(school), "admin")
    soup = report(
        client, {"RPTID": "JournalAccess", "PCLID": 101, "ADT": "11.05.2026", "DDT": "17.05.2026"}
    )
    header = [th.get_text() for th in soup.select("table.table-print tr")[0].find_all("th")]
    assert header == ["ФИО", "Роль", "Класс", "Дата и время входа"]


# --- the school year -------------------------------------------------------------------------------


def test_year_switch_answers_the_next_year_without_year_id(school):
    client = logged_in(app_with(school, "year_switch"), "admin")
    for path in ("/webapi/classes", "/webapi/terms", "/webapi/subjects", "/webapi/subjectgroups"):
        assert client.get(path).json() == []
    assert client.get("/webapi/grade/studentList", params={"classId": 101}).json() == []
    plain = {"sgId": 1201, "termId": 26901}
    assert client.get("/webapi/grade/journal", params=plain).status_code == 404
    assert client.get("/webapi/mysettings").json()["schoolyearId"] == YEAR_ID + 1
    assert client.get("/webapi/years/current").json()["id"] == YEAR_ID
    default = logged_in(app_with(school), "admin")
    for path in ("/webapi/classes", "/webapi/terms", "/webapi/subjects", "/webapi/subjectgroups"):
        assert client.get(path, params={"yearId": YEAR_ID}).json() == default.get(path).json()
    with_year = {**plain, "yearId": YEAR_ID}
    assert (
        client.get("/webapi/grade/journal", params=with_year).json()
        == default.get("/webapi/grade/journal", params=plain).json()
    )


def test_year_id_is_accepted_on_every_staff_endpoint_by_default(school):
    client = logged_in(app_with(school), "admin")
    year = {"yearId": YEAR_ID}
    for path, params in (
        ("/webapi/classes", {"expand": "chiefs"}),
        ("/webapi/subjects", {}),
        ("/webapi/subjectgroups", {"classId": 101}),
        ("/webapi/subjectgroups/terms", {"sgId": 1201}),
        ("/webapi/users/teacher/subjectgroups", {}),
        ("/webapi/grade/studentList", {"classId": 101}),
        ("/webapi/subjectplans/getForSubjectGroup", {"sgId": 1201}),
        ("/webapi/grade/journal", {"sgId": 1201, "termId": 26901}),
        ("/webapi/terms", {}),
        ("/webapi/calendar/vacations", {}),
        ("/webapi/school/settings", {}),
    ):
        assert client.get(path, params={**params, **year}).json() == (
            client.get(path, params=params).json()
        ), path
    assert client.get("/webapi/classes", params={"yearId": YEAR_ID + 1}).json() == []
    unknown = client.get("/webapi/classes", params={"yearId": 999})
    assert (unknown.status_code, unknown.json()) == (404, {"message": "Учебный год не найден"})


# --- everything at once ----------------------------------------------------------------------------


def test_all_quirks_at_once_serve_a_staff_session(school):
    app = app_with(school, "all")
    client = sim_client(app)
    answer = login_long(client, account(app, "admin"))
    assert answer.status_code == 200
    assert answer.json()["accountInfo"]["userRoles"] == []
    # the client keeps the real ESRNSec: send only that one
    esrn = answer.headers.get_list("set-cookie")[0].split(";")[0].split("=", 1)[1]
    client.cookies.clear()
    client.headers.update({"at": answer.json()["at"], "Cookie": f"ESRNSec={esrn}"})
    assert client.get("/webapi/context").json()["version"] == "5.44.7850.27567"
    assert client.get("/webapi/classes").json() == []
    classes = client.get("/webapi/classes", params={"yearId": YEAR_ID}).json()
    assert [k["name"] for k in classes] == ["5а", "5б", "5в"]


def test_year_switch_leaves_a_parents_calls_in_the_simulated_year(school):
    app = app_with(school, "year_switch")
    parent = logged_in(app, "parent")
    assert (
        parent.get("/webapi/terms").json()
        == logged_in(app_with(school), "parent").get("/webapi/terms").json()
    )
    assert parent.get("/webapi/mysettings").json()["schoolyearId"] == YEAR_ID
