"""The simulator's login flow against CONTRACT §1 (salt, hashes, cookies, interstitials, time-outs)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import httpx
import pytest
from simclient import HEADERS, account, hashes, login, login_form

from asurso_sync.simulator import make_app

AS_OF = dt.date(2026, 5, 20)


@pytest.fixture
def app(school):
    return make_app(school, as_of=AS_OF)


@pytest.fixture
def client(app):
    with httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="http://sim", headers=HEADERS
    ) as c:
        yield c


def test_accounts_cover_every_role_with_cyrillic_passwords(app):
    roles = [a["role"] for a in app.accounts]
    assert roles == [
        "admin",
        "deputy",
        "teacher",
        "teacher",
        "parent",
        "student",
        "multirole",
        "warned",
    ]
    for acc in app.accounts:
        assert set(acc) == {"role", "login", "password", "school_id"}
        assert any("а" <= ch.lower() <= "я" or ch in "ёЁ" for ch in acc["password"])
        acc["password"].encode("cp1251")


def test_logindata_sets_nssessionid_and_allows_password_login(client):
    r = client.get("/webapi/logindata")
    assert r.status_code == 200
    assert r.json()["schoolLogin"] is True
    assert "NSSESSIONID" in r.cookies


def test_getdata_returns_decimal_strings(client):
    data = client.post("/webapi/auth/getdata").json()
    assert set(data) == {"lt", "ver", "salt"}
    assert all(isinstance(v, str) and v.isdigit() for v in data.values())


def test_login_success_shape_and_esrnsec_cookie(client, app):
    acc = account(app, "admin")
    r = login(client, acc)
    assert r.status_code == 200
    body = r.json()
    assert set(body) >= {
        "at",
        "timeOut",
        "entryPoint",
        "requestData",
        "accountInfo",
        "errorMessage",
    }
    assert body["timeOut"] == 3600000
    assert body["errorMessage"] is None
    assert body["entryPoint"] == "/app/school/journal/"
    info = body["accountInfo"]
    assert info["userRoles"] == [{"id": 1, "name": "Администратор"}]
    assert info["currentOrganization"] == {"id": 107, "name": "МБОУ Школа № 3"}
    assert set(info["user"]) == {"id", "name"}
    assert "ESRNSec" in r.cookies
    ctx = client.get("/webapi/context", headers={"at": body["at"]})
    assert ctx.status_code == 200
    assert ctx.json()["schoolId"] == 107


def test_every_account_logs_in_with_its_cyrillic_password(client, app):
    for acc in app.accounts:
        r = login(client, acc, rolegroup=3 if acc["role"] == "multirole" else None)
        assert r.status_code == 200, acc["role"]
        client.post("/webapi/auth/logout", headers={"at": r.json()["at"]})


def test_wrong_password_is_409_with_message(client, app):
    r = login(client, account(app, "admin"), password="неверный")
    assert r.status_code == 409
    assert r.json() == {"message": "Неправильный пароль или имя пользователя"}


def test_utf8_hash_of_a_cyrillic_password_is_refused(client, app):
    acc = account(app, "teacher")
    client.get("/webapi/logindata")
    auth = client.post("/webapi/auth/getdata").json()
    pw2 = hashlib.md5(
        (auth["salt"] + hashlib.md5(acc["password"].encode()).hexdigest()).encode()
    ).hexdigest()
    form = {
        "loginType": 1,
        "scid": 107,
        "un": acc["login"],
        "pw": pw2[: len(acc["password"])],
        "pw2": pw2,
        "lt": auth["lt"],
        "ver": auth["ver"],
    }
    assert client.post("/webapi/login", data=form).status_code == 409


def test_salt_is_single_use(client, app):
    acc = account(app, "admin")
    client.get("/webapi/logindata")
    auth = client.post("/webapi/auth/getdata").json()
    form = login_form(acc, auth)
    assert client.post("/webapi/login", data=form).status_code == 200
    again = client.post("/webapi/login", data=form)
    assert again.status_code == 409


def test_salt_is_bound_to_the_session_cookie(app):
    acc = account(app, "admin")
    transport = httpx.WSGITransport(app=app)
    with (
        httpx.Client(transport=transport, base_url="http://sim", headers=HEADERS) as a,
        httpx.Client(transport=transport, base_url="http://sim", headers=HEADERS) as b,
    ):
        a.get("/webapi/logindata")
        auth = a.post("/webapi/auth/getdata").json()
        b.get("/webapi/logindata")
        form = login_form(acc, auth)
        assert b.post("/webapi/login", data=form).status_code == 409


def test_login_without_referer_is_403(app):
    acc = account(app, "admin")
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://sim") as c:
        c.get("/webapi/logindata")
        auth = c.post("/webapi/auth/getdata").json()
        pw, pw2 = hashes(acc["password"], auth["salt"])
        r = c.post(
            "/webapi/login",
            data={
                "loginType": 1,
                "scid": 107,
                "un": acc["login"],
                "pw": pw,
                "pw2": pw2,
                "lt": auth["lt"],
                "ver": auth["ver"],
            },
        )
    assert r.status_code == 403


def test_at_header_or_query_required(client, app):
    at = login(client, account(app, "admin")).json()["at"]
    assert client.get("/webapi/years/current").status_code == 401
    assert client.get("/webapi/years/current", params={"at": at}).status_code == 200
    assert client.get("/webapi/years/current", headers={"at": at}).json() == {
        "id": 125,
        "name": "2025/2026",
        "startDate": "2025-09-01T00:00:00",
        "endDate": "2026-08-31T00:00:00",
    }


def test_esrnsec_cookie_required(client, app):
    at = login(client, account(app, "admin")).json()["at"]
    client.cookies.delete("ESRNSec")
    r = client.get("/webapi/context", headers={"at": at})
    assert r.status_code == 401
    assert r.headers["auth-error"] == "SessionExpired"


def test_idle_timeout_and_keepalive(client, app):
    at = login(client, account(app, "admin")).json()["at"]
    app.advance_clock(3000)
    assert client.get("/webapi/context", headers={"at": at}).status_code == 200  # keeps it alive
    app.advance_clock(3000)
    assert client.get("/webapi/terms", headers={"at": at}).status_code == 200
    app.advance_clock(3601)
    r = client.get("/webapi/terms", headers={"at": at})
    assert r.status_code == 401
    assert r.headers["auth-error"] == "SessionExpired"


def test_settable_timeout(school):
    app = make_app(school, as_of=AS_OF, time_out_ms=900000)
    with httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url="http://sim", headers=HEADERS
    ) as c:
        body = login(c, account(app, "admin")).json()
        assert body["timeOut"] == 900000
        app.advance_clock(901)
        assert c.get("/webapi/terms", headers={"at": body["at"]}).status_code == 401


@pytest.mark.parametrize("style", ["form", "header"])
def test_logout_ends_the_session(client, app, style):
    body = login(client, account(app, "admin")).json()
    at = body["at"]
    if style == "form":
        r = client.post("/webapi/auth/logout", data={"at": at, "ver": "1"})
    else:
        r = client.post("/webapi/auth/logout", headers={"at": at})
    assert r.status_code == 200
    after = client.get("/webapi/context", headers={"at": at})
    assert after.status_code == 401
    assert after.headers["auth-error"] == "SessionExpired"


def test_security_warning_interstitial_on_first_login_only(client, app):
    acc = account(app, "warned")
    body = login(client, acc).json()
    assert body["entryPoint"] == "/asp/SecurityWarning.asp"
    assert body["requestData"] == {"warnType": "1"}
    at = body["at"]
    r = client.get("/webapi/classes", headers={"at": at})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "/asp/SecurityWarning.asp" in r.text
    assert len(r.content) < 1000
    ack = client.post(
        "/asp/SecurityWarning.asp", data={"at": at, "WarnType": "2"}, headers={"at": at}
    )
    assert ack.status_code == 200
    assert client.get("/webapi/classes", headers={"at": at}).json()[0]["name"] == "5а"
    client.post("/webapi/auth/logout", headers={"at": at})
    assert login(client, acc).json()["entryPoint"] == "/app/school/journal/"


def test_logout_works_during_security_warning(client, app):
    body = login(client, account(app, "warned")).json()
    assert client.post("/webapi/auth/logout", headers={"at": body["at"]}).status_code == 200


def test_choose_session_role(client, app):
    acc = account(app, "multirole")
    body = login(client, acc).json()
    assert "choose-session-role" in body["entryPoint"]
    assert body["accountInfo"]["userRoles"] == [
        {"id": 3, "name": "Учитель"},
        {"id": 2, "name": "Родитель"},
    ]
    assert client.get("/webapi/subjectgroups", headers={"at": body["at"]}).status_code == 403
    client.post("/webapi/auth/logout", headers={"at": body["at"]})
    staff = login(client, acc, rolegroup=3).json()
    assert staff["entryPoint"] == "/app/school/journal/"
    groups = client.get("/webapi/subjectgroups", headers={"at": staff["at"]}).json()
    assert groups and all(g["teachers"] is None for g in groups)
    client.post("/webapi/auth/logout", headers={"at": staff["at"]})
    parent = login(client, acc, rolegroup=2).json()
    kids = client.get("/webapi/student/diary/init", headers={"at": parent["at"]}).json()["students"]
    assert len(kids) == 1


def test_schools_search(client, school):
    assert client.get("/webapi/schools/search").status_code == 403
    rows = client.get("/webapi/schools/search", params={"name": "Школа № 3"}).json()
    assert [r["shortName"] for r in rows] == ["МБОУ Школа № 3", "МБОУ Школа № 30"]
    assert set(rows[0]) == {"id", "name", "shortName", "addressString"}
    assert rows[0]["id"] == school.school_id


def test_responses_are_json_utf8(client, app):
    at = login(client, account(app, "admin")).json()["at"]
    r = client.get("/webapi/terms", headers={"at": at})
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(r.content.decode("utf-8"))[0]["termName"] == "1 четверть"


def test_context_expired_probe(client, app):
    at = login(client, account(app, "admin")).json()["at"]
    assert client.get("/webapi/context/expired", params={"token": at}).json() is False
    client.post("/webapi/auth/logout", headers={"at": at})
    assert client.get("/webapi/context/expired", params={"token": at}).json() is True
