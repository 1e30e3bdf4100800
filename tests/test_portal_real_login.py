"""The client meets the real portal's login (CONTRACT §7, issues 11 and 12): the long form, the
trailing empty `ESRNSec`, roles when the login names none, ESIA refusals, a wrong school id,
redirects and warnings about weakened transport."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from asurso_sync.config import PortalSettings
from asurso_sync.errors import AuthError, ConfigError, PortalError
from asurso_sync.portal.client import PortalClient, password_hashes
from asurso_sync.portal.wsgi_transport import AsyncWSGITransport

BASE = "https://portal.test"
REAL = Path(__file__).parent / "fixtures" / "real"


def real(name: str):
    return json.loads((REAL / name).read_text(encoding="utf-8"))


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


@pytest.fixture
def router():
    router = respx.MockRouter(base_url=BASE, assert_all_called=False)
    router.get("/webapi/logindata").respond(
        200, json=real("logindata_vendor_template.json"), headers={"set-cookie": "NSSESSIONID=n1"}
    )
    router.post("/webapi/auth/getdata").respond(200, json=real("getdata_sgoapi_docs.json"))
    router.post("/webapi/auth/logout").respond(200)
    router.post("/asp/SecurityWarning.asp").respond(200, html="<html>ok</html>")
    router.get("/webapi/context").respond(200, json={"schoolId": 22, "version": "5.10"})
    return router


def client_for(router, **settings) -> PortalClient:
    values = {"base_url": BASE, "school_id": 22, "max_retries": 1, **settings}
    return PortalClient(
        PortalSettings(**values),
        "ivanova",
        "secret",
        transport=httpx.MockTransport(router.handler),
        backoff_s=0,
    )


def logged_in(client: PortalClient, *calls):
    async def go():
        async with client:
            await client.login()
            return [await call(client) for call in calls]

    return asyncio.run(go())


def test_short_login_form_on_request(router):
    login = router.post("/webapi/login").respond(200, json=real("login_swagger_5.10.json"))
    logged_in(client_for(router, login_form="short"))
    pw, pw2 = password_hashes("secret", "9369808045")
    assert form(login.calls.last.request) == {
        "loginType": "1",
        "un": "ivanova",
        "pw": pw,
        "scid": "22",
        "pw2": pw2,
        "lt": "878792729",
        "ver": "679337794",
    }


@pytest.mark.parametrize("empty", ["ESRNSec=; path=/", "ESRNSec="])
def test_trailing_empty_esrnsec_cookie_keeps_the_real_one(router, empty):
    # without a path, the empty cookie lands on /webapi: the real one must still reach /asp/
    router.post("/webapi/login").mock(
        return_value=httpx.Response(
            200,
            json=real("login_swagger_5.10_rolelist.json"),
            headers=[("set-cookie", "ESRNSec=good&123; path=/"), ("set-cookie", empty)],
        )
    )
    context = router.get("/webapi/context").respond(200, json={"schoolId": 22})
    report = router.post("/asp/Reports/ReportJournalAccess.asp").respond(200, html="<html/>")
    logged_in(
        client_for(router),
        lambda c: c.get("context"),
        lambda c: c.post_html("asp/Reports/ReportJournalAccess.asp", {"RPTID": "JournalAccess"}),
    )
    for route in (context, report):
        cookie = route.calls.last.request.headers["cookie"]
        assert "ESRNSec=good&123" in cookie
        assert cookie.count("ESRNSec") == 1


def test_empty_user_roles_take_the_role_and_version_from_context(router):
    router.post("/webapi/login").respond(200, json=real("login_asurso_2022.json"))
    router.get("/webapi/context").respond(
        200,
        json={"schoolId": 22, "roles": ["Родитель"], "rights": ["Diary.View"], "version": "5.44"},
    )
    client = client_for(router)
    logged_in(client)
    assert (client.role_name, client.role_source, client.server_version) == (
        "Родитель",
        "context",
        "5.44",
    )
    assert client.security_warning is True


def test_roles_from_mysettings_when_context_has_none(router):
    router.post("/webapi/login").respond(200, json=real("login_asurso_2022.json"))
    router.get("/webapi/context").respond(200, json={"schoolId": 22, "roles": []})
    router.get("/webapi/mysettings").respond(200, json={"roles": ["Teacher"], "schoolyearId": 9})
    client = client_for(router)
    logged_in(client)
    assert (client.role_name, client.role_source) == ("Teacher", "mysettings")


def test_a_401_on_diary_init_marks_a_staff_account(router):
    router.post("/webapi/login").respond(200, json=real("login_asurso_2022.json"))
    router.get("/webapi/context").respond(200, json={"schoolId": 22, "roles": []})
    router.get("/webapi/mysettings").respond(200, json={"roles": []})
    router.get("/webapi/student/diary/init").respond(401)
    client = client_for(router)
    logged_in(client)
    assert (client.role_name, client.role_source) == ("staff", "diary-probe")


def test_esia_enforced_for_the_role_says_what_to_do(router):
    router.post("/webapi/login").respond(
        409, json={"message": "Для входа сотрудников используйте ЕСИА (Госуслуги)"}
    )
    with pytest.raises(AuthError) as err:
        logged_in(client_for(router))
    assert err.value.exit_code == 4
    assert "refuses password login for this account's role" in str(err.value)
    assert "login --session-from FILE" in str(err.value)


def test_esia_main_auth_without_school_login(router):
    router.get("/webapi/logindata").respond(200, json={"schoolLogin": False, "esiaMainAuth": True})
    with pytest.raises(AuthError, match="Госуслуги .ESIA. only.*dedicated staff account"):
        logged_in(client_for(router))


def test_a_redirect_is_reported_with_status_and_target(router):
    router.post("/webapi/login").respond(200, json=real("login_swagger_5.10.json"))
    router.get("/webapi/terms").respond(302, headers={"location": "https://other.test/login"})
    with pytest.raises(PortalError) as err:
        logged_in(client_for(router), lambda c: c.get("terms"))
    assert "redirected terms (HTTP 302) to https://other.test/login" in str(err.value)


def test_plain_http_and_unverified_tls_warn_on_every_run(router, caplog):
    router.post("/webapi/login").respond(200, json=real("login_swagger_5.10.json"))
    with caplog.at_level(logging.WARNING):
        logged_in(client_for(router, verify_tls=False))
    assert any("verify_tls = false" in r.getMessage() for r in caplog.records)
    caplog.clear()
    http_router = respx.MockRouter(base_url="http://portal.test", assert_all_called=False)
    http_router.get("/webapi/logindata").respond(200, json={"schoolLogin": True})
    http_router.post("/webapi/auth/getdata").respond(200, json=real("getdata_sgoapi_docs.json"))
    http_router.post("/webapi/login").respond(200, json=real("login_swagger_5.10.json"))
    http_router.post("/webapi/auth/logout").respond(200)
    http_router.post("/asp/SecurityWarning.asp").respond(200, html="<html>ok</html>")
    http_router.get("/webapi/context").respond(200, json={"schoolId": 22})
    client = PortalClient(
        PortalSettings(base_url="http://portal.test", school_id=22),
        "ivanova",
        "secret",
        transport=httpx.MockTransport(http_router.handler),
    )
    with caplog.at_level(logging.WARNING):
        logged_in(client)
    assert any("plain http://" in r.getMessage() for r in caplog.records)


def test_a_wrong_school_id_is_not_a_wrong_password(small_school):
    from asurso_sync.simulator import make_app

    app = make_app(small_school)
    account = next(a for a in app.accounts if a["role"] == "admin")
    settings = PortalSettings(base_url="http://simulator.test", school_id=999999, max_retries=1)
    client = PortalClient(
        settings, account["login"], account["password"], transport=AsyncWSGITransport(app)
    )
    with pytest.raises(ConfigError) as err:
        logged_in(client)
    assert str(err.value) == (
        f"[portal] school_id = 999999 is not this account's school: the portal accepts the "
        f"login and password for {small_school.short_name} (id {small_school.school_id}); "
        f"set school_id = {small_school.school_id}"
    )


def test_a_wrong_password_with_the_right_school_id_stays_a_wrong_password(small_school):
    from asurso_sync.simulator import make_app

    app = make_app(small_school)
    account = next(a for a in app.accounts if a["role"] == "admin")
    settings = PortalSettings(
        base_url="http://simulator.test", school_id=small_school.school_id, max_retries=1
    )
    client = PortalClient(settings, account["login"], "wrong", transport=AsyncWSGITransport(app))
    with pytest.raises(AuthError, match="Неправильный пароль"):
        logged_in(client)


def test_an_unknown_login_form_is_a_config_error(router):
    router.post("/webapi/login").respond(200, json=real("login_swagger_5.10.json"))
    with pytest.raises(ConfigError, match='login_form must be "long" or "short", not .medium.'):
        logged_in(client_for(router, login_form="medium"))
