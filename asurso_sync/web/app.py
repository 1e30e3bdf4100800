"""The Starlette application: routes, login and logout, job progress, security headers."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature
from sqlite_utils import Database
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asurso_sync.documents.output import templates_root
from asurso_sync.mirror.audit import record_action
from asurso_sync.mirror.db import open_mirror
from asurso_sync.web.accounts import (
    LOCK_MINUTES,
    LoginRefused,
    authenticate,
    end_session,
    open_accounts,
    start_session,
)
from asurso_sync.web.core import (
    HOME,
    LOGIN_COOKIE,
    NO_STORE,
    SESSION_COOKIE,
    WebSettings,
    make_env,
    new_token,
    open_ctx,
    posted,
    redirect,
    signer,
)
from asurso_sync.web.jobs import Jobs
from asurso_sync.web.views.archive import (
    act_file,
    act_post,
    approve_post,
    archive_page,
    get_post,
    verify_post,
)
from asurso_sync.web.views.documents import document_file, documents_page, render_post
from asurso_sync.web.views.remarks import d1_pdf, issued_post, remarks_page
from asurso_sync.web.views.state import state_page
from asurso_sync.web.views.summary import summary_page

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STATIC = {"web.css": "text/css; charset=utf-8", "web.js": "text/javascript; charset=utf-8"}


class SecurityHeaders:
    """CSP, no framing, no referrer, no MIME sniffing on every answer."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


def _cookie(response: Response, settings: WebSettings, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/",
    )


def home(request: Request) -> Response:
    ctx = open_ctx(request, None)
    try:
        return redirect(HOME[ctx.user.role])
    finally:
        ctx.close()


def _login_form(request: Request, error: str = "", status: int = 200, login: str = "") -> Response:
    settings: WebSettings = request.app.state.settings
    accounts = open_accounts(settings.accounts_path)
    try:
        token = new_token()
        html = request.app.state.env.get_template("login.html").render(
            csrf=token, error=error, login=login, next=_next(request.query_params.get("next"))
        )
        response = HTMLResponse(html, status_code=status, headers=NO_STORE)
        _cookie(response, settings, LOGIN_COOKIE, signer(accounts).dumps(token))
        return response
    finally:
        accounts.close()


def _next(value: Any) -> str:
    text = str(value or "/")
    # only a path of this site: not `//host` nor `/\\host` (browsers read both as another host)
    return text if text.startswith("/") and text[1:2] not in ("/", "\\") else "/"


def login_page(request: Request) -> Response:
    return _login_form(request)


async def login_post(request: Request) -> Response:
    form = await request.form()
    settings: WebSettings = request.app.state.settings
    accounts = open_accounts(settings.accounts_path)
    try:
        try:
            expected = signer(accounts).loads(request.cookies.get(LOGIN_COOKIE, ""))
        except BadSignature:
            expected = None
        sent = str(form.get("csrf", ""))
        if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
            return _login_form(request, "Форма устарела: войдите ещё раз.", 403)
        login = str(form.get("login", "")).strip()
        try:
            user = authenticate(accounts, login, str(form.get("password", "")))
        except LoginRefused as refused:
            if refused.locked:
                _audit_login(settings, f"locked login={login[:40]}")
            text = (
                f"Вход временно закрыт после нескольких неверных паролей: "
                f"попробуйте через {LOCK_MINUTES} минут или попросите администратора."
                if refused.locked
                else "Неверный логин или пароль."
            )
            return _login_form(request, text, 401, login)
        token, _csrf = start_session(accounts, user)
        _audit_login(settings, f"login={user.login} role={user.role}")
        target = _next(form.get("next"))
        response = redirect(target if target != "/" else HOME[user.role])
        _cookie(response, settings, SESSION_COOKIE, signer(accounts).dumps(token))
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response
    finally:
        accounts.close()


def _audit_login(settings: WebSettings, detail: str) -> None:
    """Log-ins and lock-outs go to the mirror's audit_log too (who used the page, when)."""
    if not settings.mirror_path.exists():
        return
    mirror = Database(settings.mirror_path)
    try:
        mirror.execute("PRAGMA busy_timeout=5000")
        record_action(mirror, "web login", detail, commit=True)
    finally:
        mirror.close()


async def logout_post(request: Request) -> Response:
    async with posted(request, None, None) as (ctx, form):
        raw = request.cookies.get(SESSION_COOKIE, "")
        end_session(ctx.accounts, signer(ctx.accounts).loads(raw))
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def job_page(request: Request) -> Response:
    ctx = open_ctx(request, None)
    try:
        job = request.app.state.jobs.get(str(request.path_params["job_id"]))
        if job is None or (job.owner != ctx.user.login and ctx.user.role != "admin"):
            raise HTTPException(404, "нет такого задания")
        if request.url.path.endswith(".json"):
            return JSONResponse(job.as_json(), headers=NO_STORE)
        return ctx.render("job.html", "", job=job)
    finally:
        ctx.close()


def job_file(request: Request) -> Response:
    ctx = open_ctx(request, None)
    try:
        job = request.app.state.jobs.get(str(request.path_params["job_id"]))
        if job is None or job.owner != ctx.user.login or not job.finished:
            raise HTTPException(404, "нет такого задания")
        index = int(request.path_params["index"])
        if not 0 <= index < len(job.files):
            raise HTTPException(404, "нет такого файла")
        path = Path(job.files[index])
        ctx.audit("job-file", f"job={job.id} file={path.name.split('.')[0]}")
        media = "application/pdf" if path.suffix == ".pdf" else "text/html; charset=utf-8"
        return FileResponse(path, media_type=media, filename=path.name, headers=NO_STORE)
    finally:
        ctx.close()


def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        raise HTTPException(404)
    path = templates_root() / "web" / name
    return FileResponse(path, media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"})


def error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (301, 302, 303, 307):
        return Response(status_code=exc.status_code, headers=exc.headers)
    html = request.app.state.env.get_template("error.html").render(
        status=exc.status_code, detail=exc.detail
    )
    return HTMLResponse(html, status_code=exc.status_code, headers=NO_STORE)


def make_app(settings: WebSettings) -> Starlette:
    """The page's ASGI application (uvicorn in `serve`, httpx.ASGITransport in the tests)."""
    routes = [
        Route("/", home),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", logout_post, methods=["POST"]),
        Route("/summary", summary_page),
        Route("/remarks", remarks_page),
        Route("/remarks/d1.pdf", d1_pdf),
        Route("/remarks/issued", issued_post, methods=["POST"]),
        Route("/documents", documents_page),
        Route("/documents/file", document_file),
        Route("/documents/render", render_post, methods=["POST"]),
        Route("/archive", archive_page),
        Route("/archive/verify", verify_post, methods=["POST"]),
        Route("/archive/get", get_post, methods=["POST"]),
        Route("/archive/act", act_post, methods=["POST"]),
        Route("/archive/act/approve", approve_post, methods=["POST"]),
        Route("/archive/act/file", act_file),
        Route("/state", state_page),
        Route("/jobs/{job_id:int}", job_page),
        Route("/jobs/{job_id:int}.json", job_page),
        Route("/jobs/{job_id:int}/file/{index:int}", job_file),
        Route("/static/{name}", static),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders, hsts=settings.secure_cookies)],
        exception_handlers={HTTPException: error_page},
    )
    # the accounts file exists and both databases are migrated before the first request
    open_accounts(settings.accounts_path).close()
    if settings.mirror_path.exists():
        open_mirror(settings.mirror_path).close()
    app.state.settings = settings
    app.state.env = make_env()
    app.state.jobs = Jobs()
    return app
