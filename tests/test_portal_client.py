"""The portal client against respx: login, headers, re-login, retries, clear failures."""

from __future__ import annotations

import asyncio
import hashlib
import random
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from asurso_sync.config import PortalSettings
from asurso_sync.errors import (
    AuthError,
    ConfigError,
    CredentialsError,
    LayoutError,
    PortalError,
    PortalRefused,
)
from asurso_sync.portal import adapter
from asurso_sync.portal.client import PortalClient, password_hashes

BASE = "https://portal.test"
PASSWORD = "Пароль1"
LOGIN_OK = {
    "at": "AT-TOKEN-1",
    "timeOut": 900000,
    "entryPoint": "/angular/school/main/",
    "requestData": {},
    "errorMessage": None,
    "accountInfo": {
        "user": {"id": 7, "name": "x"},
        "userRoles": [{"id": 1, "name": "Администратор"}],
        "currentOrganization": {"id": 39, "name": "s"},
    },
}


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


@pytest.fixture
def router():
    router = respx.MockRouter(base_url=BASE, assert_all_called=False)
    router.get("/webapi/logindata").respond(
        200,
        json={"schoolLogin": True, "version": "5.44"},
        headers={"set-cookie": "NSSESSIONID=abc; Path=/"},
    )
    router.post("/webapi/auth/getdata").respond(
        200, json={"lt": "878792729", "ver": "679337794", "salt": "9369808045"}
    )
    router.post("/webapi/auth/logout").respond(200, json={})
    return router


@pytest.fixture
def sleeps():
    return []


def make_client(router, sleeps, handler=None, **settings) -> PortalClient:
    async def fake_sleep(seconds: float) -> None:
        sleeps.append(round(seconds, 6))

    values = {"base_url": BASE, "school_id": 39, "max_retries": 3, **settings}
    return PortalClient(
        PortalSettings(**values),
        "admin",
        PASSWORD,
        transport=httpx.MockTransport(handler or router.handler),
        backoff_s=0.5,
        rng=random.Random(1),
        sleep=fake_sleep,
    )


def run(client: PortalClient, *calls):
    async def go():
        async with client:
            await client.login()
            return [await call(client) for call in calls]

    return asyncio.run(go())


def test_password_hashes_match_the_contract():
    salt = "9369808045"
    inner = hashlib.md5(PASSWORD.encode("cp1251")).hexdigest()
    pw2 = hashlib.md5((salt + inner).encode()).hexdigest()
    assert password_hashes(PASSWORD, salt) == (pw2[: len(PASSWORD)], pw2)


def test_password_windows_1251_cannot_encode_is_a_credentials_error():
    with pytest.raises(CredentialsError, match="windows-1251"):
        password_hashes("pass😀", "1")


def test_login_sends_form_hashes_referer_and_then_at(router, sleeps):
    login = router.post("/webapi/login").respond(
        200, json=LOGIN_OK, headers={"set-cookie": "ESRNSec=sec; Path=/"}
    )
    context = router.get("/webapi/context").respond(200, json={"schoolId": 39})
    client = make_client(router, sleeps)
    assert run(client, lambda c: c.get("context")) == [{"schoolId": 39}]
    request = login.calls.last.request
    pw, pw2 = password_hashes(PASSWORD, "9369808045")
    assert form(request) == {
        "LoginType": "1",
        "cid": "2",
        "sid": "1",
        "pid": "-1",
        "cn": "1",
        "sft": "2",
        "scid": "39",
        "UN": "admin",
        "PW": pw,
        "pw2": pw2,
        "lt": "878792729",
        "ver": "679337794",
    }
    assert request.headers["Referer"] == BASE + "/about.html"
    assert request.headers["X-Requested-With"] == "XMLHttpRequest"
    assert "at" not in request.headers
    assert "NSSESSIONID=abc" in request.headers["cookie"]
    call = context.calls.last.request
    assert call.headers["at"] == "AT-TOKEN-1"
    assert "ESRNSec=sec" in call.headers["cookie"]
    assert call.headers["Referer"] == BASE + "/"
    logout = router.routes[2].calls.last.request
    assert form(logout) == {"at": "AT-TOKEN-1", "ver": "679337794"}


def test_wrong_password_is_auth_error_with_the_portals_words(router, sleeps):
    router.post("/webapi/login").respond(
        409, json={"message": "Неправильный пароль или имя пользователя"}
    )
    with pytest.raises(AuthError) as info:
        run(make_client(router, sleeps))
    assert str(info.value) == "Неправильный пароль или имя пользователя"
    assert info.value.exit_code == 4


def test_password_login_switched_off(router, sleeps):
    router.get("/webapi/logindata").respond(200, json={"schoolLogin": False})
    with pytest.raises(AuthError, match="refuses password login .logindata: schoolLogin false"):
        run(make_client(router, sleeps))


def test_401_logs_in_again_once_and_repeats(router, sleeps):
    router.post("/webapi/login").mock(
        side_effect=[
            httpx.Response(200, json=LOGIN_OK),
            httpx.Response(200, json={**LOGIN_OK, "at": "AT-TOKEN-2"}),
        ]
    )
    context = router.get("/webapi/context").mock(
        side_effect=[
            httpx.Response(401, headers={"auth-error": "SessionExpired"}),
            httpx.Response(200, json={"ok": 1}),
        ]
    )
    client = make_client(router, sleeps)
    assert run(client, lambda c: c.get("context")) == [{"ok": 1}]
    assert [c.request.headers["at"] for c in context.calls] == ["AT-TOKEN-1", "AT-TOKEN-2"]
    assert client.relogins == 1
    assert router.routes[0].call_count == 2  # logindata again: a fresh session cookie
    assert sleeps == []


def test_429_honours_retry_after(router, sleeps):
    router.post("/webapi/login").respond(200, json=LOGIN_OK)
    terms = router.get("/webapi/terms").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json=[]),
        ]
    )
    assert run(make_client(router, sleeps), lambda c: c.get("terms")) == [[]]
    assert terms.call_count == 2
    assert sleeps == [7.0]


def test_5xx_backs_off_exponentially_with_jitter(router, sleeps):
    router.post("/webapi/login").respond(200, json=LOGIN_OK)
    router.get("/webapi/terms").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(502),
            httpx.Response(500),
            httpx.Response(200, json=[]),
        ]
    )
    run(make_client(router, sleeps), lambda c: c.get("terms"))
    rng = random.Random(1)
    assert sleeps == [round(0.5 * 2**i * (0.5 + rng.random()), 6) for i in range(3)]


def test_5xx_until_retries_run_out_is_one_clear_error(router, sleeps):
    router.post("/webapi/login").respond(200, json=LOGIN_OK)
    terms = router.get("/webapi/terms").respond(503)
    with pytest.raises(PortalError) as info:
        run(make_client(router, sleeps), lambda c: c.get("terms"))
    assert str(info.value) == "the portal answered terms with HTTP 503 4 times; try again later"
    assert terms.call_count == 4


def test_connect_error_and_timeout_are_retried(router, sleeps):
    router.post("/webapi/login").respond(200, json=LOGIN_OK)
    router.get("/webapi/terms").mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.ReadTimeout("slow"),
            httpx.Response(200, json=[]),
        ]
    )
    assert run(make_client(router, sleeps), lambda c: c.get("terms")) == [[]]
    assert len(sleeps) == 2


def test_truncated_and_non_json_200_are_retried(router, sleeps):
    router.post("/webapi/login").respond(200, json=LOGIN_OK)
    router.get("/webapi/terms").mock(
        side_effect=[
            httpx.Response(200, content=b'[{"id": 1, "termNa'),
            httpx.Response(
                200, content=b"<html>oops</html>", headers={"content-type": "text/html"}
            ),
            httpx.Response(200, json=[]),
        ]
    )
    assert run(make_client(router, sleeps), lambda c: c.get("terms")) == [[]]
    assert len(sleeps) == 2


def test_403_html_page_is_portal_refused(router, sleeps):
    router.get("/webapi/logindata").respond(
        403, text="<html><h1>Access denied</h1></html>", headers={"content-type": "text/html"}
    )
    with pytest.raises(PortalRefused, match="the portal refused this address"):
        run(make_client(router, sleeps))


def test_renamed_key_is_layout_error_naming_key_and_endpoint(router, sleeps):
    router.post("/webapi/login").respond(200, json=LOGIN_OK)
    router.get("/webapi/terms").respond(
        200,
        json=[
            {
                "id": 1,
                "name": "1 четверть",
                "startDate": "2025-09-01T00:00:00",
                "endDate": "2025-10-24T00:00:00",
            }
        ],
    )
    with pytest.raises(LayoutError) as info:
        run(make_client(router, sleeps), lambda c: c.get("terms", parse=adapter.parse_terms))
    assert (info.value.endpoint, info.value.key) == ("terms", "termName")
    assert str(info.value) == "the portal's answer to terms has no key 'termName' (term 1)"


def test_choose_session_role_logs_in_again_with_the_configured_role(router, sleeps):
    roles = [{"id": 2, "name": "Родитель"}, {"id": 5, "name": "Администратор"}]
    login = router.post("/webapi/login").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    **LOGIN_OK,
                    "entryPoint": "/app/choose-session-role",
                    "accountInfo": {"userRoles": roles},
                },
            ),
            httpx.Response(200, json={**LOGIN_OK, "at": "AT-ROLE"}),
        ]
    )
    client = make_client(router, sleeps, role="Администратор")
    run(client)
    assert form(login.calls[1].request)["rolegroup"] == "5"
    assert "rolegroup" not in form(login.calls[0].request)
    assert router.routes[1].call_count == 2  # a fresh salt for the second login
    assert client.role_name == "Администратор"


def test_staff_sync_never_picks_the_parent_role_silently(router, sleeps):
    roles = [
        {"id": 2, "name": "Родитель"},
        {"id": 5, "name": "Учитель"},
        {"id": 6, "name": "Администратор"},
    ]
    router.post("/webapi/login").respond(
        200,
        json={
            **LOGIN_OK,
            "entryPoint": "/app/choose-session-role",
            "accountInfo": {"userRoles": roles},
        },
    )
    with pytest.raises(ConfigError) as info:
        run(make_client(router, sleeps))
    assert str(info.value) == (
        "the account has several roles (Родитель, Учитель, "
        "Администратор); set [portal] role to the one to sync with"
    )


def test_only_staff_role_besides_parent_is_taken(router, sleeps):
    roles = [{"role": {"id": 2, "name": "Родитель"}}, {"role": {"id": 5, "name": "Учитель"}}]
    login = router.post("/webapi/login").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    **LOGIN_OK,
                    "entryPoint": "/choose-session-role/",
                    "accountInfo": {"userRoles": roles},
                },
            ),
            httpx.Response(200, json=LOGIN_OK),
        ]
    )
    client = make_client(router, sleeps)
    run(client)
    assert form(login.calls[1].request)["rolegroup"] == "5"


def test_security_warning_is_acknowledged_and_the_call_repeated(router, sleeps):
    router.post("/webapi/login").respond(200, json=LOGIN_OK)
    ack = router.post("/asp/SecurityWarning.asp").respond(200, text="ok")
    page = "<html><a href='/asp/SecurityWarning.asp'>Продолжить</a></html>"
    router.get("/webapi/context").mock(
        side_effect=[
            httpx.Response(200, text=page, headers={"content-type": "text/html; charset=utf-8"}),
            httpx.Response(200, json={"ok": 1}),
        ]
    )
    assert run(make_client(router, sleeps), lambda c: c.get("context")) == [{"ok": 1}]
    assert form(ack.calls.last.request) == {"at": "AT-TOKEN-1", "WarnType": "2"}


def test_security_warning_entry_point_is_acknowledged_at_login(router, sleeps):
    router.post("/webapi/login").respond(
        200, json={**LOGIN_OK, "entryPoint": "/asp/SecurityWarning.asp"}
    )
    ack = router.post("/asp/SecurityWarning.asp").respond(200, text="ok")
    run(make_client(router, sleeps))
    assert ack.call_count == 1


def test_school_found_by_exact_name(router, sleeps):
    search = router.get("/webapi/schools/search").respond(
        200,
        json=[
            {"id": 38, "name": "ГБОУ ООШ №38", "shortName": "ГБОУ ООШ №38 г.Сызрани"},
            {"id": 39, "name": "ГБОУ ООШ №39", "shortName": "ГБОУ ООШ №39 г.Сызрани"},
        ],
    )
    login = router.post("/webapi/login").respond(200, json=LOGIN_OK)
    client = make_client(router, sleeps, school_id=None, school="ГБОУ ООШ №39 г.Сызрани")
    run(client)
    assert search.calls.last.request.url.params["name"] == "ГБОУ ООШ №39 г.Сызрани"
    assert form(login.calls.last.request)["scid"] == "39"


def test_school_name_matching_several_lists_candidates(router, sleeps):
    router.get("/webapi/schools/search").respond(
        200,
        json=[
            {"id": 38, "name": "Школа", "shortName": "A"},
            {"id": 39, "name": "Школа", "shortName": "B"},
        ],
    )
    with pytest.raises(ConfigError) as info:
        run(make_client(router, sleeps, school_id=None, school="Школа"))
    assert str(info.value) == (
        "2 schools on the portal named exactly 'Школа'; candidates: "
        "A (id 38); B (id 39) — set [portal] school to one of them or "
        "school_id"
    )


def test_access_report_in_windows_1251_with_meta_charset_only():
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        '</head><body><h2 class="main-report-title">Отчет о доступе к классному журналу</h2>'
        '<table class="table-print"><tr><th>ФИО</th><th>Роль</th><th>Класс</th>'
        "<th>Дата и время входа</th></tr>"
        "<tr><td>Петрова Мария Ивановна</td><td>Учитель</td><td>5а</td>"
        "<td>08.12.2025 14:05</td></tr></table></body></html>"
    ).encode("windows-1251")
    rows = adapter.parse_access_report(page, 101)
    key = "\x1f".join(("Петрова Мария Ивановна", "Учитель", "101", "2025-12-08T14:05:00"))
    assert rows == [
        {
            "id": hashlib.sha1(key.encode()).hexdigest()[:20],
            "user_name": "Петрова Мария Ивановна",
            "role": "Учитель",
            "class_id": 101,
            "class_name": "5а",
            "entered_at": "2025-12-08T14:05:00",
            "subject_name": None,
            "action": None,
            "lesson_date": None,
            "layout": "contract",
        }
    ]


def test_access_report_without_its_table_is_a_layout_error():
    with pytest.raises(LayoutError, match="table.table-print"):
        adapter.parse_access_report(b'<h2 class="main-report-title">x</h2>', 1)


def test_concurrency_limit_is_respected(router, sleeps):
    router.post("/webapi/login").respond(200, json=LOGIN_OK)
    state = {"now": 0, "max": 0}

    async def slow(request):
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        await asyncio.sleep(0.01)
        state["now"] -= 1
        return httpx.Response(200, json=[])

    router.get("/webapi/terms").mock(side_effect=slow)
    client = make_client(router, sleeps, handler=router.async_handler, concurrency=2)

    async def many(c):
        return await asyncio.gather(*(c.get("terms") for _ in range(8)))

    assert run(client, many) == [[[]] * 8]
    assert state["max"] == 2


def _wsgi(environ, start_response):
    import time

    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.5)
    body = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Set-Cookie", "k=v; Path=/")])
    return [body]


def test_async_wsgi_transport_answers_and_honours_the_read_timeout():
    from asurso_sync.portal.wsgi_transport import AsyncWSGITransport

    async def go():
        transport = AsyncWSGITransport(_wsgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            answer = await client.post("/fast", data={"a": "1"})
            with pytest.raises(httpx.ReadTimeout):
                await client.get("/slow", timeout=0.1)
            return answer.status_code, answer.text, dict(client.cookies)

    assert asyncio.run(go()) == (200, "POST /fast", {"k": "v"})


def test_request_delay_paces_every_call(router, sleeps):
    router.post("/webapi/login").respond(200, json=LOGIN_OK)
    router.get("/webapi/terms").respond(200, json=[])
    delays = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds, *args):
        delays.append(seconds)
        await real_sleep(0)

    client = make_client(router, sleeps, request_delay_s=0.25)
    asyncio.sleep, saved = recording_sleep, asyncio.sleep
    try:
        run(client, lambda c: c.get("terms"), lambda c: c.get("terms"))
    finally:
        asyncio.sleep = saved
    assert delays == [0.25] * 6  # logindata, getdata, login, two calls, logout


def test_a_call_before_login_logs_in_first(router, sleeps):
    login = router.post("/webapi/login").respond(200, json=LOGIN_OK)
    router.get("/webapi/terms").respond(200, json=[])
    client = make_client(router, sleeps)

    async def go():
        async with client:
            return await asyncio.gather(client.get("terms"), client.get("terms"))

    assert asyncio.run(go()) == [[], []]
    assert login.call_count == 1


def test_a_failed_re_login_fails_the_waiting_calls_too(router, sleeps):
    router.post("/webapi/login").mock(
        side_effect=[
            httpx.Response(200, json=LOGIN_OK),
            httpx.Response(409, json={"message": "Неправильный пароль или имя пользователя"}),
        ]
    )
    router.get("/webapi/terms").respond(401, headers={"auth-error": "SessionExpired"})
    client = make_client(router, sleeps)

    async def go():
        async with client:
            await client.login()
            return await asyncio.gather(
                *(client.get("terms") for _ in range(6)), return_exceptions=True
            )

    results = asyncio.run(go())
    assert [str(r) for r in results] == ["Неправильный пароль или имя пользователя"] * 6
