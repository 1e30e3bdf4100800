"""The portal as a WSGI application (no framework): login, staff API, diary, access report."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from asurso_sync.simulator import names as N
from asurso_sync.simulator.calendar import BELLS, LESSON_MINUTES
from asurso_sync.simulator.faults import FaultPlan, FaultSpec
from asurso_sync.simulator.model import School, User
from asurso_sync.simulator.served import View

log = logging.getLogger(__name__)
WRONG_PASSWORD = "Неправильный пароль или имя пользователя"
VERSION = "5.44.7850.27567"
PRODUCT = "Сетевой Город. Образование"
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
STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
LAYOUT_RENAMES = {
    "classMeeting": "classMeetings",
    "lessons": "lessonList",
    "fullName": "fio",
    "termName": "name",
    "weekDays": "days",
    "subjectPlanId": "planId",
}
PUBLIC = {
    "/webapi/logindata",
    "/webapi/schools/search",
    "/webapi/auth/getdata",
    "/webapi/login",
    "/webapi/sysinfo",
    "/webapi/prepareloginform",
    "/webapi/context/expired",
}


def iso(day: dt.date) -> str:
    return day.isoformat() + "T00:00:00"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - the portal's own scheme


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] | None = None
    data: Any = None  # the JSON object before encoding (for the layout fault)

    def all_headers(self) -> list[tuple[str, str]]:
        out = [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))]
        return out + (self.headers or [])


def json_response(
    data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, headers=headers, data=data)


def html_response(
    text: str, status: int = 200, encoding: str = "utf-8", charset_header: bool = True
) -> Response:
    ctype = f"text/html; charset={encoding}" if charset_header else "text/html"
    return Response(status, text.encode(encoding), ctype)


def expired() -> Response:
    return json_response({"message": "Сессия завершена"}, 401, [("auth-error", "SessionExpired")])


def forbidden(message: str = "Доступ запрещён") -> Response:
    return json_response({"message": message}, 403)


@dataclass
class Session:
    at: str
    user: User
    esrn: str
    nssession: str
    last: float
    role_id: int | None
    warn_pending: bool = False
    alive: bool = True

    @property
    def role_name(self) -> str:
        return dict(self.user.roles).get(self.role_id or 0, "")

    @property
    def is_staff(self) -> bool:
        return self.role_id in (1, 3, 5)

    @property
    def is_family(self) -> bool:
        return self.role_id in (2, 4)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    cookies: dict[str, str]
    target: str

    def arg(self, name: str, default: str | None = None) -> str | None:
        low = name.lower()
        for source in (self.query, self.form):
            for key, value in source.items():
                if key.lower() == low:
                    return value
        return default

    def int_arg(self, name: str) -> int | None:
        value = self.arg(name)
        try:
            return int(value) if value not in (None, "") else None
        except ValueError:
            return None


def _read_request(environ: dict[str, Any]) -> Request:
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "/") or "/"
    raw_query = environ.get("QUERY_STRING", "")
    query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
    form: dict[str, str] = {}
    if method == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        ctype = environ.get("CONTENT_TYPE", "")
        if body and ("x-www-form-urlencoded" in ctype or not ctype):
            text = body.decode("utf-8", errors="replace")
            form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    headers = {
        k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
    }
    cookies: dict[str, str] = {}
    if "cookie" in headers:
        jar = SimpleCookie()
        try:
            jar.load(headers["cookie"])
        except Exception:  # noqa: BLE001 - a malformed cookie header is just ignored
            jar = SimpleCookie()
        cookies = {k: m.value for k, m in jar.items()}
    target = path + ("?" + raw_query if raw_query else "")
    return Request(method, path, query, form, headers, cookies, target)


class Simulator:
    """The WSGI callable: `app(environ, start_response)`; state is the clock and the sessions."""

    def __init__(
        self,
        school: School,
        as_of: dt.date | None = None,
        latency_ms: float = 0,
        faults: FaultSpec | None = None,
        time_out_ms: int = 3600000,
    ) -> None:
        self.school = school
        self.as_of = as_of or dt.date.today()
        self.view = View(school, self.as_of)
        self.latency_ms = latency_ms
        self.faults = faults or FaultSpec()
        self.fault_plan = FaultPlan(self.faults)
        self.time_out_ms = time_out_ms
        self._clock_offset = 0.0
        self._lock = threading.Lock()
        self._rng = random.Random(f"sessions/{school.seed}")
        self._salts: dict[str, dict[str, str]] = {}  # NSSESSIONID -> {salt, lt, ver}
        self._sessions: dict[str, Session] = {}
        self._warned_once: set[int] = set()
        self.requests = 0
        self._routes: dict[tuple[str, str], Callable[[Request, Session | None], Response]] = {
            ("GET", "/webapi/logindata"): self.logindata,
            ("GET", "/webapi/schools/search"): self.schools_search,
            ("POST", "/webapi/auth/getdata"): self.getdata,
            ("POST", "/webapi/login"): self.login,
            ("GET", "/webapi/sysinfo"): self.sysinfo,
            ("POST", "/webapi/auth/logout"): self.logout,
            ("GET", "/webapi/context"): self.context,
            ("GET", "/webapi/context/expired"): self.context_expired,
            ("GET", "/webapi/school/settings"): self.settings,
            ("GET", "/webapi/years/current"): self.year,
            ("GET", "/webapi/terms"): self.terms,
            ("GET", "/webapi/calendar/vacations"): self.vacations,
            ("GET", "/webapi/classes"): self.classes,
            ("GET", "/webapi/subjects"): self.subjects,
            ("GET", "/webapi/subjectgroups"): self.subjectgroups,
            ("GET", "/webapi/grade/studentList"): self.student_list,
            ("GET", "/webapi/grade/assignment/types"): self.assignment_types,
            ("GET", "/webapi/grade/attendance/reasons"): self.attendance_reasons,
            ("GET", "/webapi/subjectplans/getForSubjectGroup"): self.subject_plan,
            ("GET", "/webapi/grade/journal"): self.journal,
            ("GET", "/webapi/student/diary/init"): self.diary_init,
            ("GET", "/webapi/student/diary"): self.diary,
            ("GET", "/webapi/student/diary/pastMandatory"): self.past_mandatory,
            ("POST", "/asp/SecurityWarning.asp"): self.security_ack,
            ("POST", "/asp/Reports/ReportJournalAccess.asp"): self.report_form,
            ("POST", "/asp/Reports/JournalAccess.asp"): self.report_journal_access,
        }

    # --- public controls -----------------------------------------------------------------------
    @property
    def accounts(self) -> list[dict[str, Any]]:
        """Every login of the simulated school: role, login, password, school_id."""
        return [
            {
                "role": u.kind,
                "login": u.login,
                "password": u.password,
                "school_id": self.school.school_id,
            }
            for u in self.school.users
        ]

    def set_as_of(self, as_of: dt.date) -> None:
        """Move the school's clock: the portal now serves the state at the end of `as_of`."""
        with self._lock:
            self.as_of = as_of
            self.view = View(self.school, as_of)

    def clock(self) -> float:
        """Seconds on the session clock (monotonic + what tests advanced)."""
        return time.monotonic() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Let idle time pass without waiting (session time-outs in tests)."""
        with self._lock:
            self._clock_offset += seconds

    def expire_sessions(self) -> None:
        with self._lock:
            for s in self._sessions.values():
                s.alive = False

    # --- WSGI ------------------------------------------------------------------------------------
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            resp = self.handle(_read_request(environ))
        except Exception as exc:  # noqa: BLE001 - a simulator bug answers 500 like a real server
            log.exception("simulator error")
            resp = json_response({"message": f"{type(exc).__name__}", "isInformation": False}, 500)
        start_response(
            f"{resp.status} {STATUS_TEXT.get(resp.status, 'Status')}", resp.all_headers()
        )
        return [resp.body]

    def handle(self, req: Request) -> Response:
        with self._lock:
            self.requests += 1
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        plan = self.fault_plan
        if self.faults.active:
            attempt = plan.attempt(req.method, req.target)
            if plan.hits("blocked", req.method, req.target, attempt):
                return html_response(
                    "<html><head><title>Access denied</title></head><body><h1>Access denied"
                    "</h1><p>Доступ к сайту ограничен.</p></body></html>",
                    403,
                )
            if plan.hits("5xx", req.method, req.target, attempt):
                status = (500, 502, 503)[attempt % 3]
                return html_response(
                    f"<html><body><h1>{status} {STATUS_TEXT[status]}</h1></body></html>", status
                )
            if plan.hits("timeout", req.method, req.target, attempt):
                time.sleep(self.faults.hang_s)
            if req.path not in PUBLIC and plan.hits("expire", req.method, req.target, attempt):
                token = req.headers.get("at") or req.arg("at")
                with self._lock:
                    if token in self._sessions:
                        self._sessions[token].alive = False
        resp = self.route(req)
        if (
            self.faults.active
            and resp.status == 200
            and resp.data is not None
            and req.path not in PUBLIC
        ):
            attempt = plan.last_attempt(req.method, req.target)
            if plan.hits("layout", req.method, req.target, attempt):
                resp = json_response(_rename_key(resp.data))
            elif plan.hits("truncated", req.method, req.target, attempt):
                resp = Response(200, resp.body[: max(1, len(resp.body) // 2)])
            elif plan.hits("nonjson", req.method, req.target, attempt):
                resp = Response(200, b"Object reference not set to an instance of an object.")
        return resp

    def route(self, req: Request) -> Response:
        handler = self._routes.get((req.method, req.path))
        if handler is None:
            handler = self._dynamic_route(req)
        if handler is None:
            known = {p for _, p in self._routes}
            if req.path in known:
                return json_response({"message": "Method not allowed"}, 405)
            return json_response({"message": "Not found"}, 404)
        if req.path in PUBLIC:
            return handler(req, None)
        session, failure = self.authenticate(req)
        if failure is not None:
            return failure
        assert session is not None
        if session.warn_pending and req.path not in ("/webapi/auth/logout", SECURITY_PAGE):
            return html_response(
                f"<html><head><title>Предупреждение о безопасности</title></head><body>"
                f'<form method="post" action="{SECURITY_PAGE}"><input type="hidden" name="WarnType" value="2">'
                f'</form><script>location.href="{SECURITY_PAGE}"</script></body></html>'
            )
        if session.role_id is None and req.path != "/webapi/auth/logout":
            return forbidden("Выберите роль для входа")
        return handler(req, session)

    def _dynamic_route(self, req: Request) -> Callable[[Request, Session | None], Response] | None:
        parts = req.path.strip("/").split("/")
        if (
            req.method == "GET"
            and len(parts) == 4
            and parts[:2] == ["webapi", "schools"]
            and parts[3] == "card"
        ):
            return lambda r, s: self.school_card(r, s, parts[2])
        return None

    def authenticate(self, req: Request) -> tuple[Session | None, Response | None]:
        token = req.headers.get("at") or req.arg("at")
        if not token:
            return None, json_response({"message": "Ошибка доступа"}, 401)
        with self._lock:
            session = self._sessions.get(token)
            now = self.clock()
            if session is None or not session.alive:
                return None, expired()
            if now - session.last > self.time_out_ms / 1000:
                session.alive = False
                return None, expired()
            if req.cookies.get("ESRNSec") != session.esrn:
                return None, expired()
            session.last = now
        return session, None

    def _token(self, digits: int) -> str:
        with self._lock:
            return "".join(str(self._rng.randint(0, 9)) for _ in range(digits)).lstrip("0") or "1"

    # --- login -----------------------------------------------------------------------------------
    def logindata(self, req: Request, _s: Session | None) -> Response:
        data = {
            "productName": PRODUCT,
            "version": VERSION,
            "schoolLogin": True,
            "emLogin": False,
            "esiaLogin": True,
            "esiaLoginPage": "/webapi/sso/esia/crosslogin",
            "esiaMainAuth": False,
            "esiaButton": True,
            "signatureLogin": False,
            "cacheVer": "638712345678901234",
            "windowsAuth": False,
            "enableSms": False,
            "esaLogin": False,
            "esaLoginPage": None,
        }
        resp = json_response(data)
        self._ensure_nssession(req, resp)
        return resp

    def _ensure_nssession(self, req: Request, resp: Response) -> str:
        sid = req.cookies.get("NSSESSIONID")
        with self._lock:
            known = sid in self._salts
        if not sid or not known:
            sid = self._token(24)
            with self._lock:
                self._salts[sid] = {}
            resp.headers = (resp.headers or []) + [
                ("Set-Cookie", f"NSSESSIONID={sid}; path=/; HttpOnly")
            ]
        return sid

    def sysinfo(self, req: Request, _s: Session | None) -> Response:
        return Response(200, f"Version: {VERSION}\r\n".encode(), "text/plain; charset=utf-8")

    def schools_search(self, req: Request, _s: Session | None) -> Response:
        name = req.arg("name")
        if not name:
            return forbidden()
        s = self.school
        rows = [
            (s.school_id, s.name, s.short_name, "443001, г. Самара, ул. Молодогвардейская, 33"),
            *OTHER_SCHOOLS,
        ]
        needle = name.lower()
        return json_response(
            [
                {"id": i, "name": n, "shortName": sn, "addressString": a}
                for i, n, sn, a in rows
                if needle in n.lower() or needle in sn.lower()
            ]
        )

    def getdata(self, req: Request, _s: Session | None) -> Response:
        resp = json_response({})
        sid = self._ensure_nssession(req, resp)
        data = {"lt": self._token(9), "ver": self._token(9), "salt": self._token(10)}
        with self._lock:
            self._salts[sid] = dict(data)
        resp.body = json_response(data).body
        resp.data = data
        return resp

    def login(self, req: Request, _s: Session | None) -> Response:
        if not req.headers.get("referer"):
            return html_response("<html><body><h1>403 Forbidden</h1></body></html>", 403)
        sid = req.cookies.get("NSSESSIONID", "")
        with self._lock:
            salt_data = self._salts.get(sid) or {}
            if sid in self._salts:
                self._salts[sid] = {}  # one login attempt per salt
        salt = salt_data.get("salt")
        user = next(
            (u for u in self.school.users if u.login.lower() == (req.arg("un") or "").lower()), None
        )
        if not salt or user is None or req.arg("lt") != salt_data.get("lt"):
            return json_response({"message": WRONG_PASSWORD}, 409)
        scid = req.int_arg("scid")
        if scid is not None and scid != self.school.school_id:
            return json_response({"message": WRONG_PASSWORD}, 409)
        pw2 = md5_hex((salt + md5_hex(user.password.encode("windows-1251"))).encode("ascii"))
        if req.arg("pw2") != pw2 or req.arg("pw") != pw2[: len(user.password)]:
            return json_response({"message": WRONG_PASSWORD}, 409)
        attempt = self.fault_plan.last_attempt(req.method, req.target)
        roles = list(user.roles)
        if (
            len(roles) == 1
            and self.fault_plan.hits("roles", req.method, req.target, attempt)
            and roles[0][0] != 2
        ):
            roles.append((2, "Родитель"))
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
            with self._lock:
                first_warned = user.kind == "warned" and user.id not in self._warned_once
                if first_warned:
                    self._warned_once.add(user.id)
            warn = first_warned or self.fault_plan.hits("security", req.method, req.target, attempt)
        at = self._token(26)
        esrn = self._token(20) + "&" + self._token(20)
        session = Session(at, user, esrn, sid, self.clock(), role_id, warn_pending=warn)
        with self._lock:
            self._sessions[at] = session
        if role_id is None:
            entry, request_data = CHOOSE_ROLE, {}
        elif warn:
            entry, request_data = SECURITY_PAGE, {"warnType": "1"}
        elif session.is_family:
            entry, request_data = "/angular/school/studentdiary/", {}
        else:
            entry, request_data = "/app/school/journal/", {}
        org = {"id": self.school.school_id, "name": self.school.short_name}
        data = {
            "at": at,
            "code": None,
            "timeOut": self.time_out_ms,
            "accessToken": None,
            "refreshToken": None,
            "tokenType": "Bearer",
            "entryPoint": entry,
            "requestData": request_data,
            "accountInfo": {
                "activeToken": None,
                "currentOrganization": org,
                "user": {"id": user.id, "name": user.name},
                "userRoles": [{"id": i, "name": n} for i, n in roles],
                "organizations": [org],
                "active": True,
                "canLogin": True,
                "storeTokens": False,
            },
            "errorMessage": None,
        }
        return json_response(data, headers=[("Set-Cookie", f"ESRNSec={esrn}; path=/; HttpOnly")])

    def logout(self, req: Request, session: Session | None) -> Response:
        assert session is not None
        with self._lock:
            session.alive = False
        return Response(200, b"", "text/plain; charset=utf-8")

    def security_ack(self, req: Request, session: Session | None) -> Response:
        assert session is not None
        if req.arg("WarnType") != "2":
            return html_response("<html><body>Неверный запрос</body></html>", 400)
        session.warn_pending = False
        return html_response(
            "<html><body><script>location.href='/app/school/journal/'</script></body></html>"
        )

    # --- structure ---------------------------------------------------------------------------------
    def context(self, req: Request, session: Session | None) -> Response:
        assert session is not None
        cal = self.school.calendar
        user = session.user
        rights = ["Journal.View", "Reports.View"] if session.is_staff else ["Diary.View"]
        return json_response(
            {
                "user": {"id": user.id, "name": user.name},
                "userId": user.id,
                "schoolId": self.school.school_id,
                "roles": [session.role_name],
                "rights": rights,
                "version": VERSION,
                "schoolyear": {
                    "id": cal.year_id,
                    "name": cal.name,
                    "startDate": iso(cal.start),
                    "endDate": iso(cal.end),
                },
                "organization": {"id": self.school.school_id, "name": self.school.short_name},
            }
        )

    def context_expired(self, req: Request, session: Session | None) -> Response:
        """`GET /webapi/context/expired?token=<at>` -> true when that session is over."""
        token = req.arg("token") or ""
        with self._lock:
            found = self._sessions.get(token)
            over = (
                found is None
                or not found.alive
                or self.clock() - found.last > self.time_out_ms / 1000
            )
        return json_response(over)

    def school_card(self, req: Request, session: Session | None, school_id: str) -> Response:
        if school_id != str(self.school.school_id):
            return json_response({"message": "Not found"}, 404)
        staff = self.school.staff
        admins = sorted(staff.values(), key=lambda p: p.id)
        return json_response(
            {
                "commonInfo": {
                    "schoolName": self.school.short_name,
                    "fullSchoolName": self.school.name,
                    "about": "Общеобразовательная школа",
                },
                "managementInfo": {
                    "director": admins[0].name,
                    "principalUVR": admins[1].name,
                    "principalAHC": None,
                    "principalIT": admins[2].name,
                },
                "contactInfo": {
                    "postAddress": "443001, г. Самара, ул. Молодогвардейская, 33",
                    "juridicalAddress": "443001, г. Самара, ул. Молодогвардейская, 33",
                    "phones": "+7 (846) 000-00-00",
                    "email": "school3@samara.edu.ru",
                    "web": "https://school3.example",
                },
            }
        )

    def settings(self, req: Request, session: Session | None) -> Response:
        return json_response(
            {"minMark": 2, "maxMark": 5, "useWeight": True, "weightFrom": 10, "weightTo": 20}
        )

    def year(self, req: Request, session: Session | None) -> Response:
        cal = self.school.calendar
        return json_response(
            {
                "id": cal.year_id,
                "name": cal.name,
                "startDate": iso(cal.start),
                "endDate": iso(cal.end),
            }
        )

    def terms(self, req: Request, session: Session | None) -> Response:
        cal = self.school.calendar
        return json_response(
            [
                {
                    "id": t.id,
                    "termName": t.name,
                    "termTypeId": 1,
                    "startDate": iso(t.start),
                    "endDate": iso(t.end),
                    "schoolYearId": cal.year_id,
                }
                for t in cal.terms
            ]
        )

    def vacations(self, req: Request, session: Session | None) -> Response:
        return json_response(
            [
                {"id": v.id, "name": v.name, "startTime": iso(v.start), "endTime": iso(v.end)}
                for v in self.school.calendar.vacations
            ]
        )

    def _staff_only(self, session: Session | None) -> Response | None:
        return None if session is not None and session.is_staff else forbidden()

    def classes(self, req: Request, session: Session | None) -> Response:
        if (denied := self._staff_only(session)) is not None:
            return denied
        expand = "chiefs" in (req.arg("expand") or "")
        staff = self.school.staff
        out = []
        for k in sorted(self.school.classes.values(), key=lambda c: (c.grade, c.letter)):
            chiefs = [{"id": k.chief_id, "name": staff[k.chief_id].name}] if expand else None
            out.append(
                {
                    "id": k.id,
                    "name": k.name,
                    "grade": {"id": k.grade, "name": str(k.grade)},
                    "letter": k.letter,
                    "chiefs": chiefs,
                }
            )
        return json_response(out)

    def subjects(self, req: Request, session: Session | None) -> Response:
        if (denied := self._staff_only(session)) is not None:
            return denied
        used = {g.subject_id for g in self.school.groups.values()}
        return json_response(
            [
                {"id": s.id, "name": s.name, "shortName": s.short}
                for s in sorted(self.school.subjects.values(), key=lambda x: x.id)
                if s.id in used
            ]
        )

    def _may_see(self, session: Session, sg_id: int) -> bool:
        if session.user.visibility == "all":
            return True
        return session.user.staff_id in self.school.groups[sg_id].teacher_ids

    def subjectgroups(self, req: Request, session: Session | None) -> Response:
        if (denied := self._staff_only(session)) is not None:
            return denied
        assert session is not None
        class_id = req.int_arg("classId")
        expand = req.arg("expand") or ""
        staff = self.school.staff
        out = []
        for g in sorted(self.school.groups.values(), key=lambda x: x.id):
            if (class_id is not None and g.class_id != class_id) or not self._may_see(
                session, g.id
            ):
                continue
            teachers = (
                [{"id": t, "name": staff[t].name} for t in g.teacher_ids]
                if "teachers" in expand
                else None
            )
            out.append(
                {
                    "id": g.id,
                    "name": g.name,
                    "subjectId": g.subject_id,
                    "classId": g.class_id,
                    "teachers": teachers,
                    "terms": self.school.group_terms(g.id) if "terms" in expand else None,
                    "hours": g.hours,
                }
            )
        return json_response(out)

    def student_list(self, req: Request, session: Session | None) -> Response:
        if (denied := self._staff_only(session)) is not None:
            return denied
        class_id = req.int_arg("classId")
        view = self.view
        out = []
        for s in self.school.students_by_class.get(class_id or -1, []):
            if s.added < view.cut:
                out.append(
                    {
                        "id": s.id,
                        "fullName": s.name,
                        "free": False,
                        "individualEduc": s.individual,
                        "addedDate": s.added,
                        "healthGroupFilled": s.health_filled,
                    }
                )
        return json_response(out)

    def assignment_types(self, req: Request, session: Session | None) -> Response:
        order = {10: 1, 3: 2}
        return json_response(
            [
                {"id": i, "name": n, "abbr": a, "order": order.get(i, i + 10)}
                for i, (n, a) in N.ASSIGNMENT_TYPES.items()
            ]
        )

    def attendance_reasons(self, req: Request, session: Session | None) -> Response:
        return json_response(
            [{"mark": m, "localMark": m, "name": n} for m, n in N.ATTENDANCE_REASONS]
        )

    def subject_plan(self, req: Request, session: Session | None) -> Response:
        if (denied := self._staff_only(session)) is not None:
            return denied
        assert session is not None
        sg_id = req.int_arg("sgId")
        if sg_id not in self.school.groups:
            return json_response({"message": "Subject group not found"}, 404)
        if not self._may_see(session, sg_id):
            return forbidden()
        view = self.view
        plan = view.plan(sg_id)
        if plan is None:
            return json_response({"subjectPlanId": None, "createdDate": None, "lessons": []})
        held = {
            les.plan_lesson_id
            for les in self.school.lessons_by_group.get(sg_id, ())
            if les.date <= view.as_of
        }
        return json_response(
            {
                "subjectPlanId": plan.id,
                "createdDate": plan.created,
                "lessons": [
                    {
                        "id": pl.id,
                        "lessonName": pl.name,
                        "hours": pl.hours,
                        "hoursStudied": pl.hours if pl.id in held else 0,
                        "lastStudyDay": iso(pl.last_study_day),
                        "homeAssignment": pl.task,
                    }
                    for pl in plan.lessons
                ],
            }
        )

    # --- the journal ----------------------------------------------------------------------------------
    def journal(self, req: Request, session: Session | None) -> Response:
        if (denied := self._staff_only(session)) is not None:
            return denied
        assert session is not None
        sg_id, term_id = req.int_arg("sgId"), req.int_arg("termId")
        if sg_id is None or term_id is None:
            return json_response({"message": "sgId and termId are required"}, 400)
        if sg_id not in self.school.groups or term_id not in {
            t.id for t in self.school.calendar.terms
        }:
            return json_response({"message": "Not found"}, 404)
        if not self._may_see(session, sg_id):
            return forbidden()
        return json_response(build_journal(self.school, self.view, sg_id, term_id))

    # --- the diary --------------------------------------------------------------------------------------
    def _family(self, session: Session) -> list[int]:
        user = session.user
        if session.role_id == 4 and user.student_id is not None:
            return [user.student_id]
        if session.role_id == 2:
            return list(user.children)
        return []

    def diary_init(self, req: Request, session: Session | None) -> Response:
        assert session is not None
        kids = self._family(session)
        school = self.school
        monday = self.as_of - dt.timedelta(days=self.as_of.weekday())
        return json_response(
            {
                "students": [
                    {
                        "studentId": sid,
                        "nickName": _nick(school.students[sid].name),
                        "className": school.classes[school.students[sid].class_id].name,
                        "classId": school.students[sid].class_id,
                        "iupGrade": 0,
                    }
                    for sid in kids
                ],
                "currentStudentId": 0,
                "weekStart": iso(monday),
                "yaClass": False,
                "weight": True,
                "maxMark": 5,
                "withLaAssigns": True,
            }
        )

    def _diary_args(
        self, req: Request, session: Session
    ) -> tuple[int, dt.date, dt.date] | Response:
        sid = req.int_arg("studentId")
        if sid is None or sid not in self._family(session):
            return forbidden()
        try:
            start = dt.date.fromisoformat((req.arg("weekStart") or "")[:10])
            end = dt.date.fromisoformat((req.arg("weekEnd") or "")[:10])
        except ValueError:
            return json_response({"message": "weekStart and weekEnd are required"}, 400)
        return sid, start, end

    def _pupil_days(self, sid: int, start: dt.date, end: dt.date):
        """(day, the pupil's lessons that day) for each day of [start, end] up to as_of."""
        school = self.school
        student = school.students[sid]
        mine = set(school.groups_by_student.get(sid, ()))
        day = start
        while day <= end and day <= self.view.as_of:
            lessons = school.lessons_by_class_day.get((student.class_id, day), ())
            yield day, [les for les in lessons if les.sg_id in mine]
            day += dt.timedelta(days=1)

    def diary(self, req: Request, session: Session | None) -> Response:
        assert session is not None
        args = self._diary_args(req, session)
        if isinstance(args, Response):
            return args
        sid, start, end = args
        school, view = self.school, self.view
        student = school.students[sid]
        days = []
        for day, day_lessons in self._pupil_days(sid, start, end):
            lessons = []
            for les in day_lessons:
                h, m = BELLS.get(les.number, (14, 0))
                stop = h * 60 + m + LESSON_MINUTES
                item: dict[str, Any] = {
                    "classmeetingId": les.id,
                    "day": iso(day),
                    "number": les.number,
                    "relay": 1,
                    "room": f"{200 + les.sg_id % 40}",
                    "startTime": f"{h:02d}:{m:02d}",
                    "endTime": f"{stop // 60:02d}:{stop % 60:02d}",
                    "subjectName": school.subjects[school.groups[les.sg_id].subject_id].name,
                    "isEaLesson": False,
                }
                assigns = _diary_assignments(school, view, les.id, sid)
                if assigns:
                    item["assignments"] = assigns
                lessons.append(item)
            if lessons:
                days.append({"date": iso(day), "lessons": lessons})
        term = school.calendar.term_of(start) or school.calendar.term_of(end)
        return json_response(
            {
                "weekStart": iso(start),
                "weekEnd": iso(end),
                "weekDays": days,
                "laAssigns": [],
                "termName": term.name if term else None,
                "className": school.classes[student.class_id].name,
            }
        )

    def past_mandatory(self, req: Request, session: Session | None) -> Response:
        assert session is not None
        args = self._diary_args(req, session)
        if isinstance(args, Response):
            return args
        sid, start, end = args
        school, view = self.school, self.view
        out = []
        for _day, day_lessons in self._pupil_days(sid, start, end):
            for les in day_lessons:
                for a in school.assignments_by_lesson.get(les.id, ()):
                    shown = view.assignment(a)
                    if shown is None:
                        continue
                    for m in school.marks_by_assignment.get(a.id, ()):
                        if m.student_id == sid and m.duty and view.mark(m) is not None:
                            out.append(
                                {
                                    "id": a.id,
                                    "typeId": a.type_id,
                                    "assignmentName": shown[0],
                                    "weight": a.weight,
                                    "dueDate": iso(a.due),
                                    "classMeetingId": les.id,
                                    "subjectName": school.subjects[
                                        school.groups[les.sg_id].subject_id
                                    ].name,
                                }
                            )
        return json_response(out)

    # --- the journal access report (legacy HTML, windows-1251) -------------------------------------------
    def _report_session(self, req: Request, session: Session | None) -> Response | None:
        if session is None or not session.is_staff:
            return html_response("<html><body>Доступ запрещён</body></html>", 403)
        return None

    def report_form(self, req: Request, session: Session | None) -> Response:
        if (denied := self._report_session(req, session)) is not None:
            return denied
        options = "".join(
            f'<option value="{k.id}">{html.escape(k.name)}</option>'
            for k in sorted(self.school.classes.values(), key=lambda c: (c.grade, c.letter))
        )
        page = (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
            "<title>Доступ к классному журналу</title></head><body>"
            '<form method="post" action="/asp/Reports/JournalAccess.asp">'
            '<input type="hidden" name="RPTID" value="JournalAccess">'
            f'<select name="PCLID">{options}</select><input name="ADT"><input name="DDT"></form></body></html>'
        )
        return html_response(page, encoding="windows-1251", charset_header=False)

    def report_journal_access(self, req: Request, session: Session | None) -> Response:
        if (denied := self._report_session(req, session)) is not None:
            return denied
        try:
            start = _parse_dmy(req.arg("ADT") or "")
            end = _parse_dmy(req.arg("DDT") or "")
        except ValueError:
            return html_response("<html><body>Неверный период</body></html>", 400)
        class_id = req.int_arg("PCLID")
        text = render_access_report(self.school, self.view, class_id, start, end)
        return html_response(text, encoding="windows-1251", charset_header=False)


def _nick(full_name: str) -> str:
    parts = full_name.split()
    return " ".join(parts[:2])


def _parse_dmy(text: str) -> dt.date:
    d, m, y = text.strip().split(".")
    return dt.date(int(y), int(m), int(d))


def _rename_key(data: Any) -> Any:
    """The `layout` fault: rename one required key (deterministically) of a JSON answer."""
    data = json.loads(json.dumps(data))
    if isinstance(data, dict) and data.get("journals"):
        journal = data["journals"][0]
        if "classMeeting" in journal:
            journal["classMeetings"] = journal.pop("classMeeting")
            return data
    targets = data if isinstance(data, list) else [data]
    for item in targets:
        if isinstance(item, dict) and item:
            key = next((k for k in item if k in LAYOUT_RENAMES), next(iter(item)))
            item[LAYOUT_RENAMES.get(key, key + "s")] = item.pop(key)
    return data


def _diary_assignments(
    school: School, view: View, lesson_id: int, sid: int
) -> list[dict[str, Any]]:
    out = []
    for a in school.assignments_by_lesson.get(lesson_id, ()):
        shown = view.assignment(a)
        if shown is None:
            continue
        mark = None
        for m in school.marks_by_assignment.get(a.id, ()):
            if m.student_id == sid:
                state = view.mark(m)
                if state is not None:
                    mark = {
                        "assignmentId": a.id,
                        "studentId": sid,
                        "mark": state[0],
                        "resultScore": None,
                        "dutyMark": m.duty,
                    }
        if a.type_id != 3 and mark is None:
            continue
        item: dict[str, Any] = {
            "id": a.id,
            "typeId": a.type_id,
            "assignmentName": shown[0],
            "weight": a.weight,
            "dueDate": iso(a.due),
            "classMeetingId": lesson_id,
        }
        if mark is not None:
            item["mark"] = mark
        out.append(item)
    return out


def build_journal(school: School, view: View, sg_id: int, term_id: int) -> dict[str, Any]:
    """`grade/journal` for one subject group and term, from the per-(sg, term) index."""
    students = school.students
    group = school.groups[sg_id]
    plan = view.plan(sg_id)
    plan_names = {pl.id: pl.name for pl in plan.lessons} if plan else {}
    meetings, marks, attendance = [], [], []
    last_id = None
    for les in school.lessons_by_group_term.get((sg_id, term_id), ()):
        if les.date > view.as_of:
            break
        last_id = les.id
        linked = les.plan_lesson_id if les.plan_lesson_id in plan_names else None
        item: dict[str, Any] = {
            "id": les.id,
            "date": iso(les.date),
            "number": les.number,
            "isTkr": False,
            "lessonId": linked,
            "lessonName": plan_names.get(linked) if linked else None,
        }
        assigns = []
        for a in school.assignments_by_lesson.get(les.id, ()):
            shown = view.assignment(a)
            if shown is None:
                continue
            assigns.append(
                {
                    "id": a.id,
                    "typeId": a.type_id,
                    "assignmentName": shown[0],
                    "weight": a.weight,
                    "dueDate": iso(a.due),
                    "createdDate": shown[1],
                }
            )
            for m in school.marks_by_assignment.get(a.id, ()):
                state = view.mark(m)
                if state is not None:
                    marks.append(
                        {
                            "studentId": m.student_id,
                            "assignmentId": a.id,
                            "mark": state[0],
                            "dutyMark": m.duty,
                            "weight": a.weight,
                            "date": state[1],
                        }
                    )
        if assigns:
            item["assignments"] = assigns
        meetings.append(item)
        for ab in school.absences_by_lesson.get(les.id, ()):
            state = view.absence(ab)
            if state is not None:
                attendance.append(
                    {
                        "classmeetingId": les.id,
                        "studentId": ab.student_id,
                        "reason": state[0],
                        "date": state[1],
                    }
                )
    totals = []
    for pm in school.period_by_group_term.get((sg_id, term_id), ()):
        state = view.period_mark(pm)
        if state is not None:
            totals.append({"studentId": pm.student_id, "mark": state[0], "date": state[1]})
    last_access = None
    for when, staff_id in reversed(school.access.get(group.class_id, [])):
        if when < view.cut:
            last_access = {"date": when, "nickName": school.staff[staff_id].nick}
            break
    return {
        "journals": [
            {
                "subjectGroupId": sg_id,
                "students": [
                    {
                        "id": sid,
                        "fullName": students[sid].name,
                        "free": False,
                        "individualEduc": students[sid].individual,
                    }
                    for sid in view.group_students(sg_id)
                ],
                "classMeeting": meetings,
                "marks": marks,
                "attendance": attendance,
                "totals": [{"termId": term_id, "marks": totals}],
                "lastAccess": last_access,
            }
        ],
        "editLimit": {"readOnly": True, "limitPastEdit": True, "limitPastDays": 7},
        "markSettings": {"minMark": 2, "maxMark": 5, "useWeight": True},
        "lastEditCmId": last_id,
    }


def access_rows(
    school: School, view: View, class_id: int | None, start: dt.date, end: dt.date
) -> list[tuple[str, str, str, str]]:
    """(ФИО, Роль, Класс, dd.mm.yyyy HH:MM): the first entry per user, class and day."""
    lo, hi = start.isoformat(), (end + dt.timedelta(days=1)).isoformat()
    rows = []
    class_ids = [class_id] if class_id not in (None, -1) else sorted(school.classes)
    for cid in class_ids:
        if cid not in school.classes:
            continue
        seen: set[tuple[int, str]] = set()
        for when, staff_id in school.access.get(cid, []):
            if when < lo or when >= hi or when >= view.cut:
                continue
            key = (staff_id, when[:10])
            if key in seen:
                continue
            seen.add(key)
            person = school.staff[staff_id]
            stamp = f"{when[8:10]}.{when[5:7]}.{when[:4]} {when[11:16]}"
            rows.append((person.name, person.role, school.classes[cid].name, stamp))
    return rows


def render_access_report(
    school: School, view: View, class_id: int | None, start: dt.date, end: dt.date
) -> str:
    rows = access_rows(school, view, class_id, start, end)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>\n" for row in rows
    )
    klass = school.classes[class_id].name if class_id in school.classes else "Все классы"
    return (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "<title>Отчет о доступе к классному журналу</title></head><body>\n"
        f'<h5 class="report-title-school">{html.escape(school.short_name)}</h5>\n'
        '<h2 class="main-report-title">Отчет о доступе к классному журналу</h2>\n'
        '<table cellspacing="10px"><tr><td class="no-border"><span class="select"><b>Класс:</b> '
        f"{html.escape(klass)}</span></td></tr>"
        '<tr><td class="no-border"><span class="select"><b>Период:</b> '
        f"с {start.day}.{start.month:02d}.{start.year} по {end.day}.{end.month:02d}.{end.year}</span></td></tr></table>\n"
        '<table class="table-print">\n<tr><th>ФИО</th><th>Роль</th><th>Класс</th><th>Дата и время входа</th></tr>\n'
        f"{body}</table></body></html>"
    )
