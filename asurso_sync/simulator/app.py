"""The portal as a WSGI application (no framework): routing, the session check and the fault
layer. The endpoints live in one module per part of the portal (login, school, staff, diary,
reports); they share the `State` of `state.py`."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from asurso_sync.simulator import diary, login, reports, school, staff
from asurso_sync.simulator.faults import FaultSpec, rename_key
from asurso_sync.simulator.model import School
from asurso_sync.simulator.served import View
from asurso_sync.simulator.state import Handler, Routes, Session, State
from asurso_sync.simulator.wsgi import (
    STATUS_TEXT,
    Request,
    Response,
    expired,
    forbidden,
    html_response,
    json_response,
    read_request,
)

log = logging.getLogger(__name__)
ROUTES: Routes = {
    **login.ROUTES,
    **school.ROUTES,
    **staff.ROUTES,
    **diary.ROUTES,
    **reports.ROUTES,
}


class Simulator:
    """The WSGI callable: `app(environ, start_response)`; state is the clock and the sessions."""

    def __init__(
        self,
        school: School,
        as_of: dt.date | None = None,
        latency_ms: float = 0,
        faults: FaultSpec | None = None,
        time_out_ms: int = 3600000,
        quirks: frozenset[str] = frozenset(),
    ) -> None:
        self.state = State(
            school, as_of or dt.date.today(), faults or FaultSpec(), time_out_ms, quirks
        )
        self.latency_ms = latency_ms
        self.requests = 0
        self._routes = ROUTES

    # --- public controls -----------------------------------------------------------------------
    @property
    def school(self) -> School:
        return self.state.school

    @property
    def as_of(self) -> dt.date:
        return self.state.as_of

    @property
    def view(self) -> View:
        return self.state.view

    @property
    def faults(self) -> FaultSpec:
        return self.state.faults

    @property
    def quirks(self) -> frozenset[str]:
        return self.state.quirks

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
        self.state.set_as_of(as_of)

    def clock(self) -> float:
        """Seconds on the session clock (monotonic + what tests advanced)."""
        return self.state.clock()

    def advance_clock(self, seconds: float) -> None:
        """Let idle time pass without waiting (session time-outs in tests)."""
        with self.state.lock:
            self.state.clock_offset += seconds

    # --- WSGI ------------------------------------------------------------------------------------
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        try:
            resp = self.handle(read_request(environ))
        except Exception as exc:  # noqa: BLE001 - a simulator bug answers 500 like a real server
            log.exception("simulator error")
            resp = json_response({"message": f"{type(exc).__name__}", "isInformation": False}, 500)
        start_response(
            f"{resp.status} {STATUS_TEXT.get(resp.status, 'Status')}", resp.all_headers()
        )
        return [resp.body]

    def handle(self, req: Request) -> Response:
        st = self.state
        with st.lock:
            self.requests += 1
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        plan = st.fault_plan
        if st.faults.active:
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
                time.sleep(st.faults.hang_s)
            if req.path not in login.PUBLIC and plan.hits(
                "expire", req.method, req.target, attempt
            ):
                token = req.headers.get("at") or req.arg("at")
                with st.lock:
                    if token in st.sessions:
                        st.sessions[token].alive = False
        resp = self.route(req)
        if (
            st.faults.active
            and resp.status == 200
            and resp.data is not None
            and req.path not in login.PUBLIC
        ):
            attempt = plan.last_attempt(req.method, req.target)
            if plan.hits("layout", req.method, req.target, attempt):
                resp = json_response(rename_key(resp.data))
            elif plan.hits("truncated", req.method, req.target, attempt):
                resp = Response(200, resp.body[: max(1, len(resp.body) // 2)])
            elif plan.hits("nonjson", req.method, req.target, attempt):
                resp = Response(200, b"Object reference not set to an instance of an object.")
        return resp

    def route(self, req: Request) -> Response:
        handler = self._routes.get((req.method, req.path)) or self._dynamic_route(req)
        if handler is None:
            known = {p for _, p in self._routes}
            if req.path in known:
                return json_response({"message": "Method not allowed"}, 405)
            return json_response({"message": "Not found"}, 404)
        if req.path in login.PUBLIC:
            return handler(self.state, req, None)
        session, failure = self.authenticate(req)
        if failure is not None:
            return failure
        assert session is not None
        if session.warn_pending and req.path not in ("/webapi/auth/logout", login.SECURITY_PAGE):
            return login.security_page()
        if session.role_id is None and req.path != "/webapi/auth/logout":
            return forbidden("Выберите роль для входа")
        return handler(self.state, req, session)

    def _dynamic_route(self, req: Request) -> Handler | None:
        parts = req.path.strip("/").split("/")
        if (
            req.method == "GET"
            and len(parts) == 4
            and parts[:2] == ["webapi", "schools"]
            and parts[3] == "card"
        ):
            return lambda st, r, s: school.school_card(st, r, s, parts[2])
        return None

    def authenticate(self, req: Request) -> tuple[Session | None, Response | None]:
        st = self.state
        token = req.headers.get("at") or req.arg("at")
        if not token:
            return None, json_response({"message": "Ошибка доступа"}, 401)
        with st.lock:
            session = st.sessions.get(token)
            now = st.clock()
            if session is None or not session.alive:
                return None, expired()
            if st.timed_out(session, now):
                session.alive = False
                return None, expired()
            if req.cookies.get("ESRNSec") != session.esrn:
                return None, expired()
            session.last = now
        return session, None
