"""What every page shares: settings, the templates, the signed session, CSRF and the roles.

Who sees what (the roles matrix, README «Веб-страница»):

| page / action                 | admin | deputy | secretary | teacher        |
|-------------------------------|-------|--------|-----------|----------------|
| Сводка                        | yes   | yes    | —         | —              |
| Замечания, D1 PDF             | yes   | yes    | —         | own only       |
| отметить выдачу списка        | yes   | yes    | —         | —              |
| Документы (view, download)    | yes   | yes    | D5 D7 D8 D10 | —           |
| Документы: сформировать       | yes   | yes    | D5 D7 D8 D10 | —           |
| Архив (view)                  | yes   | yes    | yes       | —              |
| Архив: проверить, выдать, акт | yes   | —      | yes       | —              |
| Состояние                     | yes   | —      | —         | —              |
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import ipaddress
import re
import secrets
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from itsdangerous import BadSignature, URLSafeSerializer
from sqlite_utils import Database
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from asurso_sync.config import Config, MirrorSettings
from asurso_sync.documents.common import month_period
from asurso_sync.documents.output import templates_root
from asurso_sync.mirror.audit import record_action
from asurso_sync.web.accounts import User, cookie_key, open_accounts, resume_session

# WeasyPrint (Pango, fontconfig) is not known to be thread-safe: one render at a time
RENDER_LOCK = threading.Lock()
SESSION_COOKIE = "asurso_session"
LOGIN_COOKIE = "asurso_login"
PAGE_SIZE = 50

PAGES: dict[str, frozenset[str]] = {
    "summary": frozenset({"admin", "deputy"}),
    "remarks": frozenset({"admin", "deputy", "teacher"}),
    "documents": frozenset({"admin", "deputy", "secretary"}),
    "archive": frozenset({"admin", "deputy", "secretary"}),
    "state": frozenset({"admin"}),
}
ACTIONS: dict[str, frozenset[str]] = {
    "issue_list": frozenset({"admin", "deputy"}),
    "render": frozenset({"admin", "deputy", "secretary"}),
    "archive_check": frozenset({"admin", "secretary"}),
    "archive_get": frozenset({"admin", "secretary"}),
    "archive_act": frozenset({"admin", "secretary"}),
}
# The documents a secretary keeps (class prints for the archive and the register).
SECRETARY_KINDS = frozenset({"D5", "D7", "D8", "D10"})
HOME = {"admin": "/summary", "deputy": "/summary", "secretary": "/archive", "teacher": "/remarks"}
NAV = [
    ("summary", "/summary", "Сводка"),
    ("remarks", "/remarks", "Замечания"),
    ("documents", "/documents", "Документы"),
    ("archive", "/archive", "Архив"),
    ("state", "/state", "Состояние"),
]


@dataclass(frozen=True)
class WebSettings:
    """Where the page reads from and how its cookies behave."""

    config: Config
    accounts_path: Path
    documents_dir: Path
    secure_cookies: bool = False
    idle: dt.timedelta = dt.timedelta(minutes=30)
    timezone: str = "Europe/Samara"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mirror_path(self) -> Path:
        return self.config.mirror_path


def web_settings(
    config: Config,
    *,
    mirror: str | Path | None = None,
    archive: str | Path | None = None,
    documents: str | Path | None = None,
    accounts: str | Path | None = None,
    secure_cookies: bool = False,
    idle_minutes: int = 30,
) -> WebSettings:
    """Settings from the config, each path overridable (the demo serves its own folder)."""
    if mirror is not None:
        config = replace(config, mirror=MirrorSettings(path=str(Path(mirror).resolve())))
    if archive is not None:
        config = replace(config, archive=replace(config.archive, path=str(Path(archive).resolve())))
    base = config.mirror_path.parent
    return WebSettings(
        config=config,
        accounts_path=Path(accounts) if accounts else base / "web.db",
        documents_dir=Path(documents) if documents else base / "reports",
        secure_cookies=secure_cookies,
        idle=dt.timedelta(minutes=idle_minutes),
        timezone=config.sync.timezone,
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------- templates


def local_time(value: str | None, tz: str = "Europe/Samara") -> str:
    """A UTC (or school-local naive) ISO time as «02.12.2026 02:16», school-local."""
    if not value:
        return ""
    when = dt.datetime.fromisoformat(value)
    if when.tzinfo is not None:
        when = when.astimezone(ZoneInfo(tz))
    return when.strftime("%d.%m.%Y %H:%M")


def ru_date(value: str | dt.date | None) -> str:
    if not value:
        return ""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return f"{text[8:10]}.{text[5:7]}.{text[:4]}"


def period_label(slug: str, term_names: list[str]) -> str:
    """A period slug of a file name or a record (`2025-11`, `term2`, `2025-W42`, `2025-2026`)
    in Russian."""
    if re.fullmatch(r"\d{4}-\d{2}", slug):
        return month_period(slug).label
    if m := re.fullmatch(r"term(\d+)", slug):
        n = int(m[1])
        return term_names[n - 1] if 0 < n <= len(term_names) else f"{n}-й период"
    if m := re.fullmatch(r"(\d{4})-W(\d{2})", slug):
        monday = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
        return f"неделя с {monday:%d.%m.%Y}"
    if m := re.fullmatch(r"(\d{4})-(\d{4})", slug):
        return f"{m[1]}/{m[2]} учебный год"
    return slug


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_root() / "web")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ru_date"] = ru_date
    return env


# ---------------------------------------------------------------- per request


@dataclass
class Ctx:
    """One request's user, CSRF token and open databases."""

    request: Request
    settings: WebSettings
    user: User
    csrf: str
    accounts: Database
    _mirror: Database | None = None

    @property
    def mirror(self) -> Database:
        if self._mirror is None:
            path = self.settings.mirror_path
            if not path.exists():
                raise HTTPException(503, f"нет зеркала {path}: сначала `asurso-sync sync`")
            self._mirror = Database(path)
            self._mirror.execute("PRAGMA busy_timeout=5000")
        return self._mirror

    def close(self) -> None:
        self.accounts.close()
        if self._mirror is not None:
            self._mirror.close()

    def may(self, action: str) -> bool:
        return self.user.role in ACTIONS[action]

    def require(self, action: str) -> None:
        if not self.may(action):
            raise HTTPException(403, "Нет доступа")

    def audit(self, page: str, detail: str = "") -> None:
        """Who looked at personal data (152-ФЗ): logins, roles and ids only, never names."""
        text = f"login={self.user.login} role={self.user.role}" + (f" {detail}" if detail else "")
        record_action(self.mirror, f"web {page}", text, commit=True)

    def check_csrf(self, form: Any) -> None:
        sent = str(form.get("csrf", ""))
        if not sent or not hmac.compare_digest(sent, self.csrf):
            raise HTTPException(403, "Форма устарела или подделана (CSRF): обновите страницу")

    def local_time(self, value: str | None) -> str:
        return local_time(value, self.settings.timezone)

    def render(self, template: str, page: str, status: int = 200, **context: Any) -> Response:
        env: jinja2.Environment = self.request.app.state.env
        nav = [(k, url, title) for k, url, title in NAV if self.user.role in PAGES[k]]
        row = self.mirror.execute(
            "SELECT name FROM schools WHERE deleted_at IS NULL ORDER BY id LIMIT 1"
        ).fetchone()
        html = env.get_template(template).render(
            school_name=row[0] if row else "",
            user=self.user,
            csrf=self.csrf,
            nav=nav,
            page=page,
            local_time=self.local_time,
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=NO_STORE)


NO_STORE = {"Cache-Control": "no-store"}


def signer(accounts: Database) -> URLSafeSerializer:
    return URLSafeSerializer(cookie_key(accounts), salt="asurso-sync web session")


def open_ctx(request: Request, page: str | None) -> Ctx:
    """The logged-in user allowed on `page`: redirect to the login page, or 403."""
    settings: WebSettings = request.app.state.settings
    accounts = open_accounts(settings.accounts_path)
    raw = request.cookies.get(SESSION_COOKIE)
    resumed = None
    if raw:
        try:
            token = signer(accounts).loads(raw)
        except BadSignature:
            token = None
        if isinstance(token, str):
            resumed = resume_session(accounts, token, settings.idle)
    if resumed is None:
        accounts.close()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(303, headers={"Location": f"/login?next={_safe_next(target)}"})
    user, csrf = resumed
    if page is not None and user.role not in PAGES[page]:
        accounts.close()
        raise HTTPException(403, "Нет доступа к этой странице")
    return Ctx(request, settings, user, csrf, accounts)


@contextlib.asynccontextmanager
async def posted(
    request: Request, page: str | None, action: str | None
) -> AsyncIterator[tuple[Ctx, FormData]]:
    """A form posted from `page`: the user allowed there, its CSRF token checked, `action`
    permitted (None: any user of the page), the databases closed afterwards."""
    form = await request.form()
    ctx = open_ctx(request, page)
    try:
        ctx.check_csrf(form)
        if action is not None:
            ctx.require(action)
        yield ctx, form
    finally:
        ctx.close()


def _safe_next(target: str) -> str:
    return quote(target if target.startswith("/") and target[1:2] not in ("/", "\\") else "/")


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def new_token() -> str:
    return secrets.token_urlsafe(24)
