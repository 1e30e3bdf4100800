"""Login and session endpoints: logindata, school search, salt, login, logout, the security
warning and the session probe (CONTRACT §1–2)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from asurso_sync.simulator.model import User
from asurso_sync.simulator.school import ADDRESS, PRODUCT, VERSION
from asurso_sync.simulator.state import Routes, Session, State
from asurso_sync.simulator.wsgi import Request, Response, forbidden, html_response, json_response

WRONG_PASSWORD = "Неправильный пароль или имя пользователя"
# [fixed here]: no public capture shows the texts of a refused password login.
ESIA_ONLY_ROLE = "Для вашей роли вход по логину и паролю запрещён. Войдите через Госуслуги (ЕСИА)"
ESIA_ONLY = "Вход по логину и паролю отключён. Войдите через Госуслуги (ЕСИА)"
# The login form every asurso.ru client sends (keys exactly so), with Referer …/about.html.
LONG_FORM = ("LoginType", "cid", "sid", "pid", "cn", "sft", "scid", "UN", "PW", "lt", "pw2", "ver")
STAFF_ROLES = (1, 3, 5)
CHOOSE_ROLE = "/app/simple/attention/choose-session-role"
SECURITY_PAGE = "/asp/SecurityWarning.asp"
OTHER_SCHOOLS = (
    (
        108,
        "МБОУ Школа № 30 г.о. Самара",
        "МБОУ Школа № 30",
        "443030, г. Самара, ул. Ставропольская, 3",
    ),
    (215, "МБОУ Лицей № 3 г.о. Тольятти", "МБОУ Лицей № 3", "445000, г. Тольятти, ул. Мира, 7"),
)
# Paths answered without a session.
PUBLIC = {
    "/webapi/logindata",
    "/webapi/schools/search",
    "/webapi/auth/getdata",
    "/webapi/login",
    "/webapi/sysinfo",
    "/webapi/prepareloginform",
    "/webapi/context/expired",
}


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - the portal's own scheme


def ensure_nssession(st: State, req: Request, resp: Response) -> str:
    """The NSSESSIONID cookie of this browser, set on `resp` when it has none (or an unknown one)."""
    sid = req.cookies.get("NSSESSIONID")
    with st.lock:
        known = sid in st.salts
    if not sid or not known:
        sid = st.token(24)
        with st.lock:
            st.salts[sid] = {}
        resp.headers = (resp.headers or []) + [
            ("Set-Cookie", f"NSSESSIONID={sid}; path=/; HttpOnly")
        ]
    return sid


def logindata(st: State, req: Request, _s: Session | None) -> Response:
    data = {
        "productName": PRODUCT,
        "version": VERSION,
        "schoolLogin": not st.quirk("esia_only"),
        "emLogin": False,
        "esiaLogin": True,
        "esiaLoginPage": "/webapi/sso/esia/crosslogin",
        "esiaMainAuth": st.quirk("esia_only_staff") or st.quirk("esia_only"),
        "esiaButton": True,
        "signatureLogin": False,
        "cacheVer": "638712345678901234",
        "windowsAuth": False,
        "enableSms": False,
        "esaLogin": False,
        "esaLoginPage": None,
    }
    resp = json_response(data)
    ensure_nssession(st, req, resp)
    return resp


def sysinfo(st: State, req: Request, _s: Session | None) -> Response:
    return Response(200, f"Version: {VERSION}\r\n".encode(), "text/plain; charset=utf-8")


def schools_search(st: State, req: Request, _s: Session | None) -> Response:
    name = req.arg("name")
    if not name:
        return forbidden()
    s = st.school
    rows = [(s.school_id, s.name, s.short_name, ADDRESS), *OTHER_SCHOOLS]
    needle = name.lower()
    return json_response(
        [
            {"id": i, "name": n, "shortName": sn, "addressString": a}
            for i, n, sn, a in rows
            if needle in n.lower() or needle in sn.lower()
        ]
    )


def getdata(st: State, req: Request, _s: Session | None) -> Response:
    resp = json_response({})
    sid = ensure_nssession(st, req, resp)
    data = {"lt": st.token(9), "ver": st.token(9), "salt": st.token(10)}
    with st.lock:
        st.salts[sid] = dict(data)
    resp.body = json_response(data).body
    resp.data = data
    return resp


def login(st: State, req: Request, _s: Session | None) -> Response:
    if not req.headers.get("referer"):
        return html_response("<html><body><h1>403 Forbidden</h1></body></html>", 403)
    sid = req.cookies.get("NSSESSIONID", "")
    with st.lock:
        salt_data = st.salts.get(sid) or {}
        if sid in st.salts:
            st.salts[sid] = {}  # one login attempt per salt
    if st.quirk("long_login") and not is_long_form(req):
        return json_response({"message": WRONG_PASSWORD}, 409)
    if st.quirk("esia_only"):
        return json_response({"message": ESIA_ONLY}, 409)
    salt = salt_data.get("salt")
    user = next(
        (u for u in st.school.users if u.login.lower() == (req.arg("un") or "").lower()), None
    )
    if not salt or user is None or req.arg("lt") != salt_data.get("lt"):
        return json_response({"message": WRONG_PASSWORD}, 409)
    scid = req.int_arg("scid")
    if scid is not None and scid != st.school.school_id:
        return json_response({"message": WRONG_PASSWORD}, 409)
    pw2 = md5_hex((salt + md5_hex(user.password.encode("windows-1251"))).encode("ascii"))
    if req.arg("pw2") != pw2 or req.arg("pw") != pw2[: len(user.password)]:
        return json_response({"message": WRONG_PASSWORD}, 409)
    plan = st.fault_plan
    attempt = plan.last_attempt(req.method, req.target)
    roles = list(user.roles)
    if len(roles) == 1 and plan.hits("roles", req.method, req.target, attempt) and roles[0][0] != 2:
        roles.append((2, "Родитель"))
    if st.quirk("esia_only_staff"):
        roles = [r for r in roles if r[0] not in STAFF_ROLES]
        if not roles or req.int_arg("rolegroup") in STAFF_ROLES:
            return json_response({"message": ESIA_ONLY_ROLE}, 409)
    rolegroup = req.int_arg("rolegroup")
    role_id: int | None
    if rolegroup is not None:
        if rolegroup not in dict(roles):
            return json_response({"message": "Роль недоступна для этого пользователя"}, 409)
        role_id = rolegroup
    elif len(roles) > 1:
        role_id = None
    else:
        role_id = roles[0][0]
    warn = False
    if role_id is not None:
        with st.lock:
            first_warned = user.kind == "warned" and user.id not in st.warned_once
            if first_warned:
                st.warned_once.add(user.id)
        warn = first_warned or plan.hits("security", req.method, req.target, attempt)
    at = st.token(26)
    esrn = st.token(20) + "&" + st.token(20)
    session = Session(at, user, esrn, sid, st.clock(), role_id, warn_pending=warn)
    with st.lock:
        st.sessions[at] = session
    if role_id is None:
        entry, request_data = CHOOSE_ROLE, {}
    elif warn:
        entry, request_data = SECURITY_PAGE, {"warnType": "1"}
    elif session.is_family:
        entry, request_data = "/angular/school/studentdiary/", {}
    else:
        entry, request_data = "/app/school/journal/", {}
    data = {
        "at": at,
        "code": None,
        "timeOut": st.time_out_ms,
        "accessToken": None,
        "refreshToken": None,
        "tokenType": "Bearer",
        "entryPoint": entry,
        "requestData": request_data,
        "accountInfo": account_info(st, user, roles, role_id),
        "errorMessage": None,
    }
    cookies = [("Set-Cookie", f"ESRNSec={esrn}; path=/; HttpOnly")]
    if st.quirk("empty_cookie"):
        cookies.append(("Set-Cookie", "ESRNSec=;"))
    return json_response(data, headers=cookies)


def is_long_form(req: Request) -> bool:
    """The asurso.ru long login form: every key of `LONG_FORM` (exactly so spelled),
    `LoginType=1`, and the Referer of the login page `…/about.html`."""
    return (
        all(key in req.form for key in LONG_FORM)
        and req.form["LoginType"] == "1"
        and req.headers.get("referer", "").split("?")[0].endswith("/about.html")
    )


def account_info(
    st: State, user: User, roles: list[tuple[int, str]], role_id: int | None
) -> dict[str, Any]:
    """`accountInfo` of the login answer. Contract: `userRoles: [{id, name}]`. Quirks:
    `roles_empty` → `[]` with the keys of asurso.ru's 2022 answer; `roles_object` → one
    `{userId, schoolId, role: {id, name}}` (the session's role, else the first), as the
    vendor's swagger 5.10; `roles_nested` → a list of those objects."""
    org = {"id": st.school.school_id, "name": st.school.short_name}
    vendor: list[dict[str, Any]] = [
        {"userId": user.id, "schoolId": st.school.school_id, "role": {"id": i, "name": n}}
        for i, n in roles
    ]
    user_roles: Any = [{"id": i, "name": n} for i, n in roles]
    if st.quirk("roles_empty"):
        user_roles = []
    elif st.quirk("roles_object"):
        user_roles = next((v for v in vendor if v["role"]["id"] == role_id), vendor[0])
    elif st.quirk("roles_nested"):
        user_roles = vendor
    info: dict[str, Any] = {
        "activeToken": None,
        "currentOrganization": org,
        "user": {"id": user.id, "name": user.name},
        "userRoles": user_roles,
        "organizations": [org],
        "active": True,
        "canLogin": True,
        "storeTokens": False,
    }
    if st.quirk("roles_empty") or st.quirk("roles_object"):
        info["secureActiveToken"] = None
        info["accessToken"] = None
    if st.quirk("roles_empty"):
        # .NET writes seven digits of fraction: "2022-01-13T22:37:38.7883797"
        info["loginTime"] = dt.datetime.now().isoformat(timespec="microseconds") + "0"
    return info


def logout(st: State, req: Request, session: Session | None) -> Response:
    assert session is not None
    with st.lock:
        session.alive = False
    return Response(200, b"", "text/plain; charset=utf-8")


def security_ack(st: State, req: Request, session: Session | None) -> Response:
    assert session is not None
    if req.arg("WarnType") != "2":
        return html_response("<html><body>Неверный запрос</body></html>", 400)
    session.warn_pending = False
    return html_response(
        "<html><body><script>location.href='/app/school/journal/'</script></body></html>"
    )


def security_page() -> Response:
    """What every other page answers while the security warning is not acknowledged."""
    return html_response(
        f"<html><head><title>Предупреждение о безопасности</title></head><body>"
        f'<form method="post" action="{SECURITY_PAGE}"><input type="hidden" name="WarnType" value="2">'
        f'</form><script>location.href="{SECURITY_PAGE}"</script></body></html>'
    )


def context_expired(st: State, req: Request, _s: Session | None) -> Response:
    """`GET /webapi/context/expired?token=<at>` -> true when that session is over."""
    token = req.arg("token") or ""
    with st.lock:
        found = st.sessions.get(token)
        over = found is None or not found.alive or st.timed_out(found, st.clock())
    return json_response(over)


ROUTES: Routes = {
    ("GET", "/webapi/logindata"): logindata,
    ("GET", "/webapi/schools/search"): schools_search,
    ("POST", "/webapi/auth/getdata"): getdata,
    ("POST", "/webapi/login"): login,
    ("GET", "/webapi/sysinfo"): sysinfo,
    ("POST", "/webapi/auth/logout"): logout,
    ("GET", "/webapi/context/expired"): context_expired,
    ("POST", SECURITY_PAGE): security_ack,
}
