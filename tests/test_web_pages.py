"""The web page through httpx.ASGITransport: every page for every role, the refusals, the
session and CSRF rules, the audit log, and what each page shows from the fixture mirror."""

from __future__ import annotations

import datetime as dt
import io
import re

import httpx
import pytest
from pypdf import PdfReader
from sqlite_utils import Database
from web_site import PASSWORD, build_site, copy_site, csrf_of, log_in

from asurso_sync import archive, documents
from asurso_sync.documents.rule_texts import rule_texts
from asurso_sync.web import make_app
from asurso_sync.web.accounts import LOCK_AFTER, open_accounts

pytestmark = pytest.mark.anyio

R12_TEXT, R12_CLAUSE = rule_texts()["R12"]
PAGES = ["/summary", "/remarks", "/documents", "/archive", "/state"]
# role -> pages it may open (README «Веб-страница», roles matrix)
ALLOWED = {
    "admin": {"/summary", "/remarks", "/documents", "/archive", "/state"},
    "zavuch": {"/summary", "/remarks", "/documents", "/archive"},
    "sekretar": {"/documents", "/archive"},
    "petrova": {"/remarks"},
}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Mirror, documents and accounts made once; each test gets a copy (`site`)."""
    folder = tmp_path_factory.mktemp("web_site")
    return build_site(folder / "site", folder / "no-store")


@pytest.fixture
def site(built, tmp_path, store_copy):
    return copy_site(built, tmp_path / "site", store_copy["store"])


@pytest.fixture
async def client(site):
    app = make_app(site.settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        c.app = app  # type: ignore[attr-defined]
        yield c
    app.state.jobs.shutdown()


def finish(client, response: httpx.Response, timeout: float = 60):
    """Wait for the background job a POST started; returns the job."""
    assert response.status_code == 303, response.text
    job_id = re.fullmatch(r"/jobs/(\d+)", response.headers["location"])[1]
    client.app.state.jobs.futures[job_id].result(timeout=timeout)
    return client.app.state.jobs.get(job_id)


def table_rows(html: str, table_class: str) -> list[list[str]]:
    """The text of each body row of the first table with this class."""
    body = html.split(f'class="grid {table_class}"', 1)[1].split("</tbody>", 1)[0]
    out = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        out.append([" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells])
    return out


async def test_no_page_without_login(client):
    for path in [*PAGES, "/remarks/d1.pdf?teacher=201", "/documents/file?f=x", "/jobs/1"]:
        r = await client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=")
    r = await client.get("/login")
    assert r.status_code == 200 and "Вход" in r.text


@pytest.mark.parametrize("login", sorted(ALLOWED))
async def test_every_page_for_every_role(client, login):
    r = await log_in(client, login)
    assert r.status_code == 303
    for path in PAGES:
        r = await client.get(path)
        expected = 200 if path in ALLOWED[login] else 403
        assert r.status_code == expected, (login, path, r.text[:300])
        if expected == 200:
            assert 'href="/static/web.css"' in r.text
            assert '<div class="brand">ГБОУ ООШ №39 г.Сызрани · Электронный журнал' in r.text
            assert r.headers["cache-control"] == "no-store"
            assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_login_lands_on_the_role_s_page(client):
    for login, home in (("zavuch", "/summary"), ("sekretar", "/archive"), ("petrova", "/remarks")):
        client.cookies.clear()
        r = await log_in(client, login)
        assert r.headers["location"] == home


async def test_session_cookie_is_signed_httponly_samesite_strict(client):
    r = await log_in(client, "zavuch")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("asurso_session=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    # a forged (unsigned) cookie is no session
    client.cookies.set("asurso_session", "not-signed")
    assert (await client.get("/summary")).status_code == 303


async def test_secure_cookie_under_https(site):
    secure = type(site.settings)(**{**site.settings.__dict__, "secure_cookies": True})
    transport = httpx.ASGITransport(app=make_app(secure))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        r = await log_in(c, "zavuch")
        assert "Secure" in r.headers["set-cookie"]
        assert "max-age" in (await c.get("/summary")).headers["strict-transport-security"]


async def test_idle_session_ends(client, site):
    await log_in(client, "zavuch")
    assert (await client.get("/summary")).status_code == 200
    accounts = open_accounts(site.settings.accounts_path)
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)).isoformat(timespec="seconds")
    accounts.execute("UPDATE sessions SET last_seen_at = ?", [old])
    accounts.conn.commit()
    r = await client.get("/summary")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/summary"
    assert accounts.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


async def test_logout_ends_the_session(client):
    await log_in(client, "zavuch")
    page = await client.get("/summary")
    r = await client.post("/logout", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303
    assert (await client.get("/summary")).status_code == 303


async def test_csrf_less_post_is_refused(client, site):
    await log_in(client, "zavuch")
    for data in ({}, {"csrf": "forged"}):
        r = await client.post(
            "/remarks/issued", data={**data, "teacher": "201", "period": "2025-11"}
        )
        assert r.status_code == 403 and "CSRF" in r.text
        r = await client.post("/documents/render", data={**data, "kind": "D2"})
        assert r.status_code == 403
        r = await client.post("/logout", data=data)
        assert r.status_code == 403
    # the login form too: without the signed cookie the form is refused
    client.cookies.clear()
    r = await client.post(
        "/login", data={"csrf": "x", "login": "zavuch", "password": PASSWORD, "next": "/"}
    )
    assert r.status_code == 403 and "asurso_session" not in r.headers.get("set-cookie", "")


async def test_lock_out_after_repeated_wrong_passwords(client, site):
    for _ in range(LOCK_AFTER - 1):
        r = await log_in(client, "zavuch", "wrong password!")
        assert r.status_code == 401 and "Неверный логин или пароль" in r.text
    r = await log_in(client, "zavuch", "wrong password!")
    assert r.status_code == 401 and "Вход временно закрыт" in r.text
    # the right password does not open a locked account
    r = await log_in(client, "zavuch")
    assert r.status_code == 401 and "Вход временно закрыт" in r.text
    row = (
        Database(site.settings.accounts_path)
        .execute("SELECT failed_logins, locked_until IS NOT NULL FROM users WHERE login = 'zavuch'")
        .fetchone()
    )
    assert row == (0, 1)
    audit = (
        Database(site.mirror)
        .execute("SELECT command, detail FROM audit_log WHERE command = 'web login'")
        .fetchall()
    )
    assert audit == [("web login", "locked login=zavuch")] * 2
    # an unknown login answers like a wrong password
    r = await log_in(client, "nobody", "whatever123")
    assert r.status_code == 401 and "Неверный логин или пароль" in r.text


async def test_teacher_sees_only_own_remarks(client):
    await log_in(client, "kuznetsova")
    r = await client.get("/remarks")
    assert r.status_code == 200
    assert table_rows(r.text, "remarks") == [
        [
            f"R12 {R12_TEXT}",
            "Кузнецова Ольга Сергеевна",
            "5б",
            "20.10.2025",
            "причина отсутствия не указана",
            f"27.10.2025 {R12_CLAUSE}",
            "дата из портала",
            "не устранено",
        ]
    ]
    assert 'name="teacher"' not in r.text.split("<table", 1)[0]  # no teacher filter
    assert (await client.get("/remarks?teacher=201")).status_code == 403
    assert (await client.get("/remarks/d1.pdf?teacher=201&period=2025-11")).status_code == 403


async def test_remarks_filtered_by_teacher_and_status(client):
    await log_in(client, "zavuch")
    r = await client.get("/remarks?teacher=201&status=open")
    assert r.status_code == 200
    assert "Найдено: 2" in r.text
    rows = table_rows(r.text, "remarks")
    assert [row[0][:3] for row in rows] == ["R01", "R01"]
    assert [row[2] for row in rows] == ["5а Математика", "5б Математика"]
    assert [row[3] for row in rows] == ["06.10.2025", "10.09.2025"]
    assert all(row[1] == "Петрова Мария Ивановна" and row[7] == "не устранено" for row in rows)
    r = await client.get("/remarks?teacher=201&period=2025-11")
    assert [row[0][:3] for row in table_rows(r.text, "remarks")] == ["R02", "R02"]
    r = await client.get("/remarks?class=102&rule=R12")
    assert [row[1] for row in table_rows(r.text, "remarks")] == ["Кузнецова Ольга Сергеевна"]
    assert (await client.get("/remarks?status=bogus")).status_code == 400


async def test_remarks_are_audit_logged_with_ids_only(client, site):
    await log_in(client, "zavuch")
    await client.get("/remarks?teacher=201&status=open")
    rows = (
        Database(site.mirror)
        .execute("SELECT command, detail FROM audit_log WHERE command LIKE 'web %'")
        .fetchall()
    )
    assert rows == [
        ("web login", "login=zavuch role=deputy"),
        ("web remarks", "login=zavuch role=deputy teacher=201 status=open"),
    ]


@pytest.mark.pdf
async def test_d1_pdf_of_one_teacher(client, site):
    await log_in(client, "zavuch")
    r = await client.get("/remarks/d1.pdf?teacher=201&period=2025-11")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert "Петрова Мария Ивановна" in text and "Кузнецова" not in text
    # the list is recorded as issued by the page's login, not the server's OS account
    db = Database(site.mirror)
    newest = documents.issued_lists(db, 201)[0]
    assert (newest["period"], newest["issued_by"], newest["how"]) == (
        "2025-11",
        "zavuch",
        "rendered",
    )


async def test_deputy_records_a_list_handed_over(client, site):
    await log_in(client, "zavuch")
    page = await client.get("/remarks?teacher=201&period=2025-11")
    r = await client.post(
        "/remarks/issued",
        data={
            "csrf": csrf_of(page.text),
            "teacher": "201",
            "period": "2025-11",
            "day": "2025-12-01",
            "note": "под подпись",
        },
    )
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "ноябрь 2025 г. — 01.12.2025 (вручён, zavuch, под подпись)" in page.text
    # and the summary's teacher table says when the list was handed over
    summary = await client.get("/summary")
    row = re.search(r"Петрова Мария Ивановна</a>(.*?)</tr>", summary.text, re.S)[1]
    assert " ".join(re.sub(r"<[^>]+>", " ", row).split()).endswith("01.12.2025 (ноябрь 2025 г.)")
    # a teacher may not record it
    client.cookies.clear()
    await log_in(client, "petrova")
    page = await client.get("/remarks")
    r = await client.post(
        "/remarks/issued", data={"csrf": csrf_of(page.text), "teacher": "201", "period": "2025-11"}
    )
    assert r.status_code == 403


async def test_summary_counts_and_trend(client, site):
    Database(site.mirror).table("sync_runs").insert(
        {
            "id": 2,
            "started_at": "2025-11-15T18:00:00+00:00",
            "finished_at": "2025-11-15T18:10:00+00:00",
            "status": "partial",
            "mode": "incremental",
            "error": "2 journals failed",
        }
    )
    await log_in(client, "zavuch")
    r = await client.get("/summary")
    assert r.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", r.text).split())
    assert "Открытые замечания 4 0" in text  # v1 v2 v4 v5; the same as at the last month's end
    teachers = re.findall(
        r'href="/remarks\?teacher=(\d+)&amp;status=active">([^<]+)</a></td><td class="num">(\d+)',
        r.text,
    )
    assert teachers == [
        ("201", "Петрова Мария Ивановна", "3"),
        ("202", "Кузнецова Ольга Сергеевна", "1"),
    ]
    points = re.findall(r"<title>(\w+): (\d+)</title>", r.text)
    assert points[:3] == [("сен", "1"), ("окт", "4"), ("ноя", "4")]
    runs = re.findall(
        r'<tr class="run-(\w+)"><td>№ (\d+) \((\w+)\)</td><td>([\d.: ]+)</td><td>(\w+)', r.text
    )
    assert runs == [
        ("partial", "2", "incremental", "15.11.2025 22:00", "частично"),
        ("ok", "1", "full", "14.11.2025 21:55", "успешно"),
    ]


async def test_documents_by_kind_with_names_and_role_limits(client, site):
    await log_in(client, "zavuch")
    r = await client.get("/documents")
    rows = table_rows(r.text, "docs")
    assert sorted((row[0], row[2], row[3]) for row in rows) == [
        ("D1", "ноябрь 2025 г.", "Кузнецова Ольга Сергеевна"),
        ("D1", "ноябрь 2025 г.", "Петрова Мария Ивановна"),
    ]
    link = re.search(r'href="(/documents/file\?f=[^"]+\.html)"', r.text)[1]
    got = await client.get(link.replace("&amp;", "&"))
    assert got.status_code == 200 and "Список замечаний" in got.text
    # the secretary's documents are the archive's kinds: no D1, not even by its address
    client.cookies.clear()
    await log_in(client, "sekretar")
    r = await client.get("/documents")
    assert "Документов: 0" in r.text
    assert (await client.get(link.replace("&amp;", "&"))).status_code == 403
    assert (await client.get("/documents/file?f=../asurso.db")).status_code == 404


async def test_render_runs_in_the_background(client, site):
    await log_in(client, "zavuch")
    page = await client.get("/documents")
    r = await client.post(
        "/documents/render",
        data={"csrf": csrf_of(page.text), "kind": "D6", "period": "term1", "class": "5а"},
    )
    job = finish(client, r)
    assert job.state == "ok", job.message
    assert [p.name.split(".")[0] for p in job.files] == ["D6_attendance_term1_5а"] * len(job.files)
    status = await client.get(f"/jobs/{job.id}.json")
    assert status.json()["state"] == "ok" and status.json()["percent"] == 100
    listed = await client.get("/documents?kind=D6")
    assert [row[3] for row in table_rows(listed.text, "docs")] == ["5а"]
    # the secretary may not render a deputy's document
    client.cookies.clear()
    await log_in(client, "sekretar")
    page = await client.get("/documents")
    r = await client.post("/documents/render", data={"csrf": csrf_of(page.text), "kind": "D1"})
    assert r.status_code == 403


async def test_archive_lists_bags_and_secretary_verifies(client, site):
    await log_in(client, "sekretar")
    r = await client.get("/archive")
    assert r.status_code == 200
    names = re.findall(r"<code>(ej-[^<]+)</code>", r.text)
    assert len(names) == 2 and any("journal" in n for n in names)
    bag = next(n for n in names if "journal" in n)
    r = await client.post(
        "/archive/verify", data={"csrf": csrf_of(r.text), "bag": bag, "full": "1"}
    )
    job = finish(client, r)
    assert (job.state, job.message) == ("ok", "в порядке: 1 пакет(ов) проверено")
    r = await client.get("/archive")
    rows = table_rows(r.text, "bags")
    row = next(x for x in rows if x and x[0].startswith(bag))
    assert row[4] == "хранилище" and row[5].startswith("в порядке полная, ")
    assert row[6] == row[5].removeprefix("в порядке полная, ")


async def test_archive_shows_each_copy_s_checks(client, site, tmp_path):
    medium = tmp_path / "usb"
    medium.mkdir()
    bag = next(e.name for e in archive.list_bags(site.settings.config) if e.kind == "journal")
    archive.copy(site.settings.config, bag, medium)
    await log_in(client, "sekretar")
    rows = table_rows((await client.get("/archive")).text, "bags")
    start = next(i for i, x in enumerate(rows) if x and x[0].startswith(bag))
    assert rows[start][4] == "хранилище"
    copy_row = rows[start + 1]  # the copy's row continues the bag's cells
    assert copy_row[0] == str(medium)
    assert copy_row[1].startswith("в порядке при копировании, ")


async def test_archive_gives_one_class_journal_verified(client):
    await log_in(client, "sekretar")
    page = await client.get("/archive")
    bag = next(n for n in re.findall(r"<code>(ej-[^<]+)</code>", page.text) if "journal" in n)
    r = await client.post(
        "/archive/get", data={"csrf": csrf_of(page.text), "bag": bag, "class": "5a"}
    )
    job = finish(client, r)
    assert job.state == "ok", job.message
    got = await client.get(f"/jobs/{job.id}/file/0")
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    assert b"5\xd0\xb0" in got.content  # the fake print names class 5а


async def test_deputy_reads_the_archive_but_may_not_act(client):
    await log_in(client, "zavuch")
    page = await client.get("/archive")
    assert page.status_code == 200 and "Проверить" not in page.text
    r = await client.post("/archive/verify", data={"csrf": csrf_of(page.text), "full": "0"})
    assert r.status_code == 403
    r = await client.post("/archive/act", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 403


async def test_state_page_for_the_admin(client, site):
    db = Database(site.mirror)
    db.table("sync_runs").insert(
        {
            "id": 2,
            "started_at": "2025-11-15T18:00:00+00:00",
            "status": "failed",
            "mode": "incremental",
            "error": "portal answered 503",
        }
    )
    db.table("job_runs").insert(
        {
            "id": 1,
            "job": "monthly_report",
            "started_at": "2025-12-01T03:00:00+00:00",
            "status": "failed",
            "error": "no mirror",
        }
    )
    await log_in(client, "admin")
    r = await client.get("/state")
    assert r.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", r.text).split())
    assert (
        "Синхронизации с ошибками № Начата Итог Ошибка 2 15.11.2025 22:00 failed portal answered 503"
        in text
    )
    assert "monthly_report 01.12.2025 07:00 failed no mirror" in text
    assert "Зеркало" in text and "Свободно рядом с архивом" in text


async def test_state_page_shows_doctor_s_last_result(client, site):
    db = Database(site.mirror)
    db.table("doctor_runs").insert_all(
        [
            {
                "id": 1,
                "run_at": "2025-11-14T17:00:00+00:00",
                "portal_url": "https://asurso.ru",
                "server_version": "5.41",
                "ok": 1,
                "cause": "",
                "report_path": "xlsx",
            },
            {
                "id": 2,
                "run_at": "2025-11-15T17:00:00+00:00",
                "portal_url": "https://asurso.ru",
                "server_version": "5.41",
                "ok": 0,
                "cause": "login refused",
                "report_path": "xlsx",
            },
        ]
    )
    await log_in(client, "admin")
    text = " ".join(re.sub(r"<[^>]+>", " ", (await client.get("/state")).text).split())
    assert (
        "15.11.2025 21:00 · https://asurso.ru (версия 5.41): синхронизация не пройдёт — login refused"
        in text
    )


async def test_destruction_act_draft_then_approved(client, site, store_copy):
    # an act drafted for the day both bags' retention has ended (the CLI's destruction-act)
    made = archive.destruction_act(site.settings.config, on=dt.date(2060, 1, 1))
    await log_in(client, "sekretar")
    page = await client.get("/archive")
    assert re.search(rf"<td>{made['number']}</td><td>01\.01\.2060</td>.*?проект", page.text, re.S)
    r = await client.post(
        "/archive/act/approve", data={"csrf": csrf_of(page.text), "number": made["number"]}
    )
    assert r.status_code == 303
    page = await client.get("/archive")
    assert "утверждён (sekretar, " in page.text
    got = await client.get(f"/archive/act/file?number={made['number']}&fmt=html")
    assert got.status_code == 200 and "акт" in got.text.lower()
    # the deputy reads the archive but may not approve
    client.cookies.clear()
    await log_in(client, "zavuch")
    page = await client.get("/archive")
    r = await client.post(
        "/archive/act/approve", data={"csrf": csrf_of(page.text), "number": made["number"]}
    )
    assert r.status_code == 403


async def test_a_job_is_only_its_owner_s(client):
    await log_in(client, "sekretar")
    page = await client.get("/archive")
    r = await client.post("/archive/verify", data={"csrf": csrf_of(page.text), "full": "0"})
    job = finish(client, r)
    client.cookies.clear()
    await log_in(client, "zavuch")
    assert (await client.get(f"/jobs/{job.id}")).status_code == 404
    assert (await client.get(f"/jobs/{job.id}.json")).status_code == 404


async def test_login_returns_only_to_a_page_of_this_site(client):
    for target, landing in (
        ("/remarks?teacher=201", "/remarks?teacher=201"),
        ("//evil.example/x", "/summary"),
        ("/\\evil.example/x", "/summary"),
        ("https://evil.example/", "/summary"),
    ):
        client.cookies.clear()
        form = await client.get("/login")
        r = await client.post(
            "/login",
            data={
                "csrf": csrf_of(form.text),
                "login": "zavuch",
                "password": PASSWORD,
                "next": target,
            },
        )
        assert r.headers["location"] == landing, target


async def test_summary_due_this_week_from_the_last_check_s_day(client, site):
    # the last check ran as of 24.12.2025: the second quarter ends on 28.12.2025 and its
    # period marks are due three days before ([rules] final_offset_days)
    Database(site.mirror).table("check_runs").insert(
        {"id": 1, "run_at": "2025-12-24T19:00:00+00:00", "as_of": "2025-12-24"}
    )
    await log_in(client, "zavuch")
    r = await client.get("/summary")
    due = re.findall(r"<li><b>([\d.]+)</b> — ([^<]+)</li>", r.text)
    assert due == [
        ("25.12.2025", "Срок итоговых отметок за «2 четверть» (R13)"),
        ("28.12.2025", "Конец периода «2 четверть»"),
    ]
    assert "на 24.12.2025" in r.text
