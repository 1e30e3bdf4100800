"""The portal client: login, retries, re-login, pacing; every request to the portal.

One `PortalClient` is one session of one account. Every call goes through `_call`, which owns
the failure policy: bounded retries with exponential backoff and jitter on connection errors,
time-outs, 429/5xx and broken 200 bodies (truncated, not JSON, a changed layout); one re-login
per 401 (up to the retry budget); the SecurityWarning interstitial acknowledged and the call
repeated. Each failure that survives the retries becomes one clear `AsursoSyncError`.

Requests go straight to an httpx transport (`transport.py`'s lean keep-alive one, unless a
proxy applies or a test passes its own): the client builds each request itself (base URL,
headers, its cookie jar, time-outs) and reads each answer once into an `Answer`, as httpx's
`AsyncClient` would, at a fraction of its cost per request. On the lean transport it goes
further: it puts the request into bytes itself (the very bytes httpx's `Request` would
send) and reads the answer without httpx's request and response objects; httpx's request
is made only when an error or the log line asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import http.cookiejar
import json
import logging
import random
import ssl
import time
import urllib.request
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import certifi
import httpx

from asurso_sync.config import PortalSettings
from asurso_sync.errors import (
    AnswerTooLarge,
    AsursoSyncError,
    AuthError,
    ConfigError,
    CredentialsError,
    LayoutError,
    PortalError,
    PortalRefused,
)
from asurso_sync.portal import adapter
from asurso_sync.portal.transport import DEFAULT_PORT, BodyTooLarge, LeanTransport

log = logging.getLogger(__name__)
# One line per request at `-vv`, under the name and in the words of httpx's own client (whose
# request building and cookie handling this client does itself, for speed).
http_log = logging.getLogger("httpx")

# What a caller may pass instead of the network (the simulator in process, a test's mock);
# named here so that only portal/ knows httpx.
Transport = httpx.AsyncBaseTransport

RETRY_STATUS = {429, 500, 502, 503, 504}
# The long login form every asurso.ru client sends (Samara: cid 2 Россия, sid 1 Самарская обл.,
# sft 2 общеобразовательная); the portal keys the login on scid.
LONG_FORM = {"cid": "2", "sid": "1", "pid": "-1", "cn": "1", "sft": "2"}
ESIA_WORDS = ("есиа", "esia", "госуслуг", "gosuslugi")
RUSSIAN_CA_HINT = (
    "if the portal uses a certificate of the Russian Trusted Root CA (Минцифры), which certifi "
    "does not carry, download the root certificate from https://www.gosuslugi.ru/crt, save it as "
    "a PEM file and set [portal] ca_bundle to its path"
)
ESIA_HELP = (
    "ask the school's administrator for a dedicated staff account with password login, or "
    "import a browser session with `asurso-sync login --session-from FILE` (such sessions are "
    "short-lived)"
)


class SessionExpired(AuthError):
    """An imported browser session (`login --session-from`) is over; exit 4."""


def tls_context(settings: PortalSettings) -> ssl.SSLContext | bool:
    """The TLS trust: certifi's roots plus `[portal] ca_bundle`; False when checks are off."""
    if not settings.verify_tls:
        return False
    context = ssl.create_default_context(cafile=certifi.where())
    if settings.ca_bundle:
        try:
            context.load_verify_locations(cafile=settings.ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"[portal] ca_bundle {settings.ca_bundle} cannot be read as PEM certificates: {exc}"
            ) from None
    return context


def network_transport(settings: PortalSettings) -> httpx.AsyncBaseTransport:
    """How requests reach the portal: through `[portal] proxy` (or the environment's
    HTTP(S)_PROXY) with httpx's own transport, else straight with the lean keep-alive one;
    at most `concurrency` connections either way."""
    proxy = settings.proxy or environment_proxy(settings.base_url)
    if not proxy and httpx.URL(settings.base_url).scheme == "http":
        # a plain http:// portal (the simulator, a school's own server): the roots are
        # loaded only should an https:// connection ever be made
        return LeanTransport(
            tls=functools.partial(tls_context, settings), max_connections=settings.concurrency
        )
    verify = tls_context(settings)
    if proxy:
        limits = httpx.Limits(
            max_connections=settings.concurrency,
            max_keepalive_connections=settings.concurrency,
        )
        return httpx.AsyncHTTPTransport(verify=verify, proxy=proxy, limits=limits)
    return LeanTransport(tls=verify, max_connections=settings.concurrency)


def environment_proxy(url: str) -> str | None:
    """The proxy the environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) names for
    `url`, as httpx's client would use it; None for none."""
    proxies = urllib.request.getproxies_environment()
    parsed = httpx.URL(url)
    if not proxies or urllib.request.proxy_bypass(parsed.host):
        return None
    return proxies.get(parsed.scheme) or proxies.get("all") or None


def transport_warnings(settings: PortalSettings) -> list[str]:
    """What every run must say about a weakened connection (issue 12.15)."""
    out = []
    host = httpx.URL(settings.base_url).host
    loopback = host in ("localhost", "::1") or host.startswith("127.")  # the simulator, demo
    if settings.base_url.lower().startswith("http://") and not loopback:
        out.append(
            f"the portal address {settings.base_url} is plain http://: passwords and pupils' "
            "data travel unencrypted; use https://"
        )
    if not settings.verify_tls:
        out.append(
            "[portal] verify_tls = false: the portal's certificate is not checked, so anyone on "
            "the way can read the session; set [portal] ca_bundle instead"
        )
    return out


def certificate_problem(exc: BaseException) -> str | None:
    """The reason, when a connection failed on the server's TLS certificate."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_message or str(seen)
        if "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    for arg in exc.args:
        if "CERTIFICATE_VERIFY_FAILED" in str(arg) or "certificate verify failed" in str(arg):
            return str(arg)
    return None


MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 120.0


def password_hashes(password: str, salt: str) -> tuple[str, str]:
    """(pw, pw2) of the salted windows-1251 MD5 login (CONTRACT §1 step 4)."""
    try:
        encoded = password.encode("windows-1251")
    except UnicodeEncodeError:
        raise CredentialsError(
            "the password has a character the portal cannot take (not in windows-1251)"
        ) from None
    inner = hashlib.md5(encoded).hexdigest()
    pw2 = hashlib.md5((salt + inner).encode("ascii")).hexdigest()
    return pw2[: len(password)], pw2


def pick_role(roles: list[dict[str, Any]], wanted: str | None, *, staff: bool = True) -> dict:
    """The role to log in with: the configured one, else the only staff role; never guess."""
    names = ", ".join(str(r.get("name")) for r in roles) or "none"
    if wanted:
        for role in roles:
            if str(role.get("name", "")).casefold() == wanted.casefold():
                return role
        raise ConfigError(f"[portal] role = {wanted!r} is not one of this account's roles: {names}")
    candidates = [
        r
        for r in roles
        if not staff or str(r.get("name", "")).casefold() not in adapter.PARENT_ROLE_NAMES
    ]
    if len(candidates) == 1:
        return candidates[0]
    raise ConfigError(
        f"the account has several roles ({names}); set [portal] role to the one to sync with"
    )


def is_family_role(name: str | None) -> bool:
    return name is not None and name.casefold() in adapter.PARENT_ROLE_NAMES


class _Jar(http.cookiejar.CookieJar):
    """A cookie jar that counts its changes (every one goes through `set_cookie` or
    `clear`), so that the `Cookie` header it gives a path can be remembered until the next."""

    changes = 0

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        super().set_cookie(cookie)
        self.changes += 1

    def clear(
        self, domain: str | None = None, path: str | None = None, name: str | None = None
    ) -> None:
        super().clear(domain, path, name)
        self.changes += 1


class _Retry(Exception):
    """A failure worth another attempt; `final` is what to raise when attempts run out."""

    def __init__(self, final: Exception, retry_after: float | None = None) -> None:
        self.final = final
        self.retry_after = retry_after


class AnswerHeaders:
    """An answer's headers as received (`raw`), looked up by name in any case, values decoded
    as httpx's `Headers` decodes them (ASCII, else UTF-8, else Latin-1)."""

    __slots__ = ("raw", "_encoding")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw
        self._encoding: str | None = None

    def get_list(self, name: str) -> list[str]:
        """Every value of the header `name`, in order."""
        key = name.lower().encode("latin-1")
        found = [value for field, value in self.raw if field.lower() == key]
        if not found:
            return []
        encoding = self._encoding or self._guess_encoding()
        return [value.decode(encoding) for value in found]

    def get(self, name: str, default: Any = None) -> Any:
        """The header's values joined by ", ", or `default` when it is absent."""
        values = self.get_list(name)
        return ", ".join(values) if values else default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        key = str(name).lower().encode("latin-1")
        return any(field.lower() == key for field, _ in self.raw)

    def _guess_encoding(self) -> str:
        for encoding in ("ascii", "utf-8"):
            try:
                for field, value in self.raw:
                    field.decode(encoding)
                    value.decode(encoding)
            except UnicodeDecodeError:
                continue
            self._encoding = encoding
            return encoding
        self._encoding = "iso-8859-1"
        return self._encoding


class Answer:
    """One answer, read whole: status, headers (as received: `content` is already decoded,
    whatever `Content-Encoding` says), body, and the request it answers (made when first
    asked for, on the lean transport's path: only an error or a log line needs it)."""

    __slots__ = ("status_code", "headers", "content", "generation", "_request")

    def __init__(
        self,
        status_code: int,
        headers: AnswerHeaders,
        content: bytes,
        request: httpx.Request | Callable[[], httpx.Request],
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self._request = request
        self.generation = 0  # the login session the request went out in

    @property
    def request(self) -> httpx.Request:
        request = self._request
        if not isinstance(request, httpx.Request):
            request = self._request = request()
        return request


class PortalClient:
    """An async session with the portal. Use `async with PortalClient(...) as c: await c.login()`."""

    def __init__(
        self,
        settings: PortalSettings,
        login: str,
        password: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        staff: bool = True,
        backoff_s: float = 0.5,
        rng: random.Random | None = None,
        sleep: Callable[[float], Any] | None = None,
        request_deadline_s: float | None = 120.0,
        session: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self._imported_session = session  # `login --session-from`: used instead of a password
        self.origin = settings.base_url.rstrip("/")
        self._login_name = login
        self._password = password
        self._transport = transport
        self.staff = staff
        self.backoff_s = backoff_s
        self._rng = rng or random.Random()
        self._sleep = sleep or asyncio.sleep
        self.request_deadline_s = request_deadline_s
        self.max_answer_bytes = int(settings.max_answer_mb * 1024 * 1024)
        self._sem = asyncio.Semaphore(settings.concurrency)
        self._login_lock = asyncio.Lock()
        self._generation = 0
        self._rolegroup: int | None = None
        self._session_ok = asyncio.Event()
        self._login_failed: BaseException | None = None
        self._http: httpx.AsyncBaseTransport | None = None  # set by `async with`
        # the lean transport, when requests go out on it: then the client puts each request
        # into bytes itself and reads the answer without httpx's request and response objects
        self._lean: LeanTransport | None = None
        self._lean_origin = ("", "", 0)  # scheme, host, port
        self._host = ""  # the Host header
        self._wire_paths: dict[str, str] = {}  # target without query -> its path on the wire
        self._cookies = httpx.Cookies(_Jar())
        self._base = self.origin + "/"
        self._headers = {  # every request's, by lower-case name
            "referer": ("Referer", self.origin + "/"),
            "x-requested-with": ("X-Requested-With", "XMLHttpRequest"),
            "accept": ("Accept", "application/json, text/javascript, */*; q=0.01"),
            "accept-encoding": ("Accept-Encoding", "gzip, deflate"),
            "connection": ("Connection", "keep-alive"),
            "user-agent": ("User-Agent", "asurso-sync"),
        }
        self._timeouts = httpx.Timeout(settings.timeout_s).as_dict()
        self._cookie_cache: dict[tuple[str, int], tuple[str | None, int | None]] = {}
        self._at: str | None = None
        self._ver: str | None = None
        self._school_id: int | None = settings.school_id
        self.requests = 0
        self.retries = 0
        self.relogins = 0
        self.server_version: str | None = None
        self.role_name: str | None = None
        self.roles: list[dict[str, Any]] = []
        self.rights: list[str] = []
        self.role_source: str | None = None  # login, context, mysettings, diary-probe
        self.login_info: dict[str, Any] = {}
        self.security_warning = False
        self.imported = False  # a browser session from `login --session-from`
        self._diagnosing = False

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> PortalClient:
        for warning in transport_warnings(self.settings):
            log.warning("%s", warning)
        self._http = self._transport or network_transport(self.settings)
        base = httpx.URL(self._base)
        if type(self._http) is LeanTransport and base.scheme in DEFAULT_PORT:
            self._lean = self._http
            self._lean_origin = (base.scheme, base.host, base.port or DEFAULT_PORT[base.scheme])
            self._host = base.netloc.decode("ascii")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if self._at is not None:
                await self.logout()
        finally:
            if self._http is not None:
                await self._http.aclose()

    @property
    def cookies(self) -> httpx.Cookies:
        """The session's cookie jar."""
        return self._cookies

    @property
    def school_id(self) -> int | None:
        return self._school_id

    @property
    def ver(self) -> str | None:
        return self._ver

    @property
    def at(self) -> str | None:
        return self._at

    # --- login -------------------------------------------------------------------------------

    async def login(self) -> None:
        """Log in (password, loginType 1), choosing the configured role and passing warnings;
        with an imported browser session, check that it is alive and find the role instead."""
        async with self._login_lock:
            if self._imported_session is not None and not self.imported:
                session = self._imported_session
                self.use_session(session["at"], session["cookies"], session.get("ver"))
                status, _ = await self._light("webapi/context", adapter.parse_context)
                if status == 401:
                    await self._login()  # raises SessionExpired (exit 4)
                await self._who_am_i()
                return
            await self._login()

    def use_session(self, at: str, cookies: dict[str, str], ver: str | None = None) -> None:
        """Use an imported browser session (`login --session-from`) instead of a password."""
        assert self._http is not None, "use PortalClient as an async context manager"
        self._at = at
        self._ver = ver
        for name, value in cookies.items():
            self.cookies.set(name, value)
        self.imported = True
        self._generation += 1
        self._session_ok.set()

    async def _login(self) -> None:
        if self.imported:
            raise SessionExpired(
                "the imported browser session has expired (the portal answered 401); log in "
                "in the browser again and re-run `asurso-sync login --session-from FILE`"
            )
        self._at = None
        assert self._http is not None
        self.cookies.clear()
        info = await self._call(
            "GET", "webapi/logindata", auth=False, parse=adapter.parse_logindata
        )
        self.login_info = info
        if not info["school_login"]:
            raise AuthError(
                "the portal refuses password login (logindata: schoolLogin false"
                + (", esiaMainAuth true: Госуслуги (ESIA) only" if info["esia_main_auth"] else "")
                + "); "
                + ESIA_HELP
            )
        self.server_version = info.get("version") or self.server_version
        school_id = await self._find_school()
        rolegroup = self._rolegroup  # a re-login goes straight to the role chosen before
        for _ in range(2):
            result = await self._post_login(school_id, rolegroup)
            self.roles = result["roles"] or self.roles
            if "choose-session-role" not in result["entry_point"].lower():
                break
            role = pick_role(result["roles"], self.settings.role, staff=self.staff)
            self._at = result["at"]
            await self.logout()
            rolegroup = self._rolegroup = role["id"]
            self.role_name = role.get("name")
        else:
            raise AuthError("the portal keeps asking to choose a role after logging in with one")
        self._at = result["at"]
        if self.role_name is None and len(self.roles) == 1:
            self.role_name = self.roles[0].get("name")
            self.role_source = "login"
        self._generation += 1
        if "securitywarning" in result["entry_point"].lower():
            self.security_warning = True
            await self._ack_security_warning()
        if self.role_name is None or self.server_version is None:
            await self._who_am_i()
        self._session_ok.set()
        log.debug("logged in (session %d)", self._generation)

    async def _light(self, path: str, parse: Callable[[Any], Any]) -> tuple[int, Any]:
        """One call inside the login (no re-login, no queue): (status, parsed or None)."""
        try:
            response = await self._send("GET", path, hold=False)
        except _Retry:
            return 0, None
        if response.status_code != 200 or _is_html(response):
            return response.status_code, None
        try:
            return 200, parse(json.loads(response.content))
        except (ValueError, LayoutError):
            return 200, None

    async def _who_am_i(self) -> None:
        """The role when the login answer names none (asurso.ru sends `userRoles: []`), and the
        portal's version: from `context`, then `mysettings`; a 401 on `student/diary/init`
        marks a staff account."""
        _, context = await self._light("webapi/context", adapter.parse_context)
        if context:
            self.server_version = self.server_version or context.get("version")
            self.rights = context["rights"]
            if self.role_name is None and context["roles"]:
                self._role_from_names(context["roles"], "context")
        if self.role_name is None:
            _, mine = await self._light("webapi/mysettings", adapter.parse_mysettings)
            if mine and mine["roles"]:
                self._role_from_names(mine["roles"], "mysettings")
        if self.role_name is None:
            status, children = await self._light("webapi/student/diary/init", _diary_probe)
            if status == 401:
                # the probe's 401 may end the session on some servers: log in once more
                self.role_name, self.role_source = "staff", "diary-probe"
            elif children:
                self.role_name, self.role_source = "parent", "diary-probe"

    def _role_from_names(self, names: list[str], source: str) -> None:
        wanted = self.settings.role
        if wanted and any(n.casefold() == wanted.casefold() for n in names):
            self.role_name = wanted
        elif len(names) == 1:
            self.role_name = names[0]
        else:
            staff = [n for n in names if not is_family_role(n)]
            self.role_name = staff[0] if self.staff and staff else names[0]
        self.roles = self.roles or [{"id": None, "name": n} for n in names]
        self.role_source = source

    async def search_schools(self, name: str) -> list[dict[str, Any]]:
        """Schools whose name contains `name` (no login needed; the portal refuses an empty
        name with 403)."""
        return await self._call(
            "GET",
            "webapi/schools/search",
            params={"name": name},
            auth=False,
            parse=adapter.parse_schools,
        )

    async def _find_school(self) -> int:
        if self._school_id is not None:
            return self._school_id
        wanted = self.settings.school
        if not wanted:
            raise ConfigError("set [portal] school (its name as the portal shows it) or school_id")
        found = await self.search_schools(wanted)
        matches = [s for s in found if wanted.strip() in (s["short_name"], s["name"])]
        if len(matches) == 1:
            self._school_id = int(matches[0]["id"])
            return self._school_id
        names = "; ".join(f"{s['short_name'] or s['name']} (id {s['id']})" for s in found[:15])
        what = "no school" if not matches else f"{len(matches)} schools"
        raise ConfigError(
            f"{what} on the portal named exactly {wanted!r}; candidates: {names or 'none'} — "
            "set [portal] school to one of them or school_id"
        )

    async def _post_login(self, school_id: int, rolegroup: int | None) -> dict[str, Any]:
        """getdata + login as one unit: a salt is good for one attempt only."""
        attempt = 0
        while True:
            auth = await self._call(
                "POST", "webapi/auth/getdata", auth=False, parse=adapter.parse_getdata
            )
            form = self.login_form(school_id, auth)
            if rolegroup is not None:
                form["rolegroup"] = str(rolegroup)
            self._ver = auth["ver"]
            try:
                response = await self._send(
                    "POST",
                    "webapi/login",
                    data=form,
                    auth=False,
                    headers={"Referer": self.origin + "/about.html"},
                )
                if response.status_code == 409:
                    await self._refused(response, school_id)
                result = self._check(response, "login", "json", adapter.parse_login)
                self._keep_session_cookie(response)
                return result
            except _Retry as retry:
                attempt += 1
                if attempt > self.settings.max_retries:
                    raise retry.final from None
                await self._backoff(attempt, retry.retry_after)

    def login_form(self, school_id: int | None, auth: dict[str, str]) -> dict[str, str]:
        """The login form: the long one of asurso.ru clients, or the short one of generic
        clients (`[portal] login_form`); `school_id` None leaves `scid` out (a diagnosis)."""
        if self.settings.login_form not in ("long", "short"):
            raise ConfigError(
                f'[portal] login_form must be "long" or "short", not {self.settings.login_form!r}'
            )
        pw, pw2 = password_hashes(self._password, auth["salt"])
        if self.settings.login_form == "short":
            form = {"loginType": "1", "un": self._login_name, "pw": pw}
        else:
            form = {"LoginType": "1", **LONG_FORM, "UN": self._login_name, "PW": pw}
        if school_id is not None:
            form["scid"] = str(school_id)
        form.update({"pw2": pw2, "lt": auth["lt"], "ver": auth["ver"]})
        return form

    def _keep_session_cookie(self, response: Answer) -> None:
        """Keep the non-empty `ESRNSec` when a second, empty `ESRNSec=;` follows it."""
        assert self._http is not None
        values = []
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            if name.strip() == "ESRNSec":
                values.append(rest.split(";", 1)[0].strip())
        kept = [v for v in values if v]
        if len(values) > len(kept) and kept:
            # drop every ESRNSec the jar holds (the empty one may sit on another path, e.g.
            # /webapi) and keep the real value for the whole site, under the server's domain
            domain = response.request.url.host
            for cookie in list(self.cookies.jar):
                if cookie.name == "ESRNSec":
                    domain = cookie.domain
                    self.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)
            self.cookies.set("ESRNSec", kept[-1], domain=domain, path="/")

    async def _refused(self, response: Answer, school_id: int) -> None:
        """A 409 on login: ESIA enforced, a wrong school id, or a wrong password."""
        text = _message(response)
        if any(word in text.casefold() for word in ESIA_WORDS):
            raise AuthError(
                f"the portal refuses password login for this account's role ({text}); " + ESIA_HELP
            )
        first = self._generation == 0  # a re-login in a run does not diagnose again
        if first and self.settings.school_id is not None and not self._diagnosing:
            self._diagnosing = True
            try:
                other = await self._school_of_account()
            finally:
                self._diagnosing = False
            if other is not None and other["id"] != school_id:
                raise ConfigError(
                    f"[portal] school_id = {school_id} is not this account's school: the portal "
                    f"accepts the login and password for {other['name'] or 'school'} "
                    f"(id {other['id']}); set school_id = {other['id']}"
                )
        raise AuthError(text or "the portal refused the login (409)")

    async def _school_of_account(self) -> dict[str, Any] | None:
        """Log in once without `scid`: a portal that accepts it names the account's school."""
        try:
            auth = await self._call(
                "POST", "webapi/auth/getdata", auth=False, parse=adapter.parse_getdata
            )
            response = await self._send(
                "POST",
                "webapi/login",
                data=self.login_form(None, auth),
                auth=False,
                headers={"Referer": self.origin + "/about.html"},
            )
        except (_Retry, AsursoSyncError):
            return None
        if response.status_code != 200:
            return None
        try:
            result = adapter.parse_login(json.loads(response.content))
        except (ValueError, LayoutError):
            return None
        at, self._at = self._at, result["at"]
        await self.logout()
        self._at = at
        if result["organization_id"] is None:
            return None
        return {"id": result["organization_id"], "name": result["organization"]}

    async def _ack_security_warning(self) -> None:
        """Acknowledge «another session is open» so the API answers JSON again."""
        log.info("the portal reports another open session of this account; acknowledging it")
        await self._call(
            "POST",
            "asp/SecurityWarning.asp",
            data={"at": self._at or "", "WarnType": "2"},
            expect="bytes",
            warn_ok=True,
            hold=False,
        )

    async def logout(self) -> None:
        """End the session; failures here never fail a sync. An imported browser session is
        left open (the browser still uses it)."""
        if self._at is None or self._http is None or self.imported:
            return
        with contextlib.suppress(httpx.HTTPError, _Retry):
            await self._send(
                "POST",
                "webapi/auth/logout",
                data={"at": self._at, "ver": self._ver or ""},
                hold=False,
            )
        self._at = None

    async def _relogin(self, generation: int) -> bool:
        """Log in again unless another call already did since `generation`; True if we did."""
        async with self._login_lock:
            if self._login_failed is not None:
                raise self._login_failed  # another call's re-login failed: fail with it
            if generation != self._generation:
                return False
            self.relogins += 1
            log.info("the portal session expired; logging in again")
            try:
                await self._login()
            except BaseException as exc:
                self._login_failed = exc  # calls held for the session fail with it too
                self._session_ok.set()
                raise
            return True

    # --- calls -------------------------------------------------------------------------------

    async def get(
        self,
        path: str,
        params: dict | None = None,
        parse: Callable[[Any], Any] | None = None,
        first_look: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """GET a JSON endpoint under /webapi/, parsed by `parse` (retried on a bad layout).
        `first_look(body)` sees the answer's bytes first: what it returns (unless None) is the
        result, and the answer is not decoded by `json.loads` nor given to `parse` (an answer
        the mirror holds already, or one read by a faster decoder)."""
        return await self._call(
            "GET", "webapi/" + path, params=params, parse=parse, first_look=first_look
        )

    async def post_html(
        self, path: str, data: dict[str, str], parse: Callable[[bytes], Any] | None = None
    ) -> Any:
        """POST a legacy /asp/ form and return the page's bytes (or `parse(bytes)`)."""
        return await self._call("POST", path, data=data, expect="bytes", parse=parse)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        data: dict | None = None,
        auth: bool = True,
        expect: str = "json",
        parse: Callable[[Any], Any] | None = None,
        warn_ok: bool = False,
        hold: bool = True,
        first_look: Callable[[bytes], Any] | None = None,
    ) -> Any:
        endpoint = path.removeprefix("webapi/")
        if auth and hold and self._generation == 0:
            async with self._login_lock:  # the first call logs in when nobody did yet
                if self._generation == 0:
                    await self._login()
        attempt = relogins = warnings = expired = 0
        while True:
            try:
                response = await self._send(
                    method, path, params=params, data=data, auth=auth, hold=hold
                )
                generation = response.generation
                if response.status_code == 401 and auth:
                    # Another call may have logged in again meanwhile: then just repeat.
                    # Own re-logins and all 401s of one call are both bounded.
                    expired += 1
                    if relogins >= max(1, self.settings.max_retries) or (
                        expired > 3 * (self.settings.max_retries + 1)
                    ):
                        raise PortalError(f"the portal keeps ending the session ({endpoint})")
                    if generation == self._generation:
                        self._session_ok.clear()
                    relogins += await self._relogin(generation)
                    continue
                if not warn_ok and _is_security_warning(response):
                    if not auth or warnings >= 2:
                        raise PortalError(
                            f"the portal keeps showing its security warning ({endpoint})"
                        )
                    warnings += 1
                    await self._ack_security_warning()
                    continue
                return self._check(response, endpoint, expect, parse, first_look)
            except _Retry as retry:
                attempt += 1
                if attempt > self.settings.max_retries:
                    raise retry.final from None
                await self._backoff(attempt, retry.retry_after)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        data: dict | None = None,
        auth: bool = True,
        hold: bool = True,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        assert self._http is not None, "use PortalClient as an async context manager"
        queued = auth and hold
        # Login calls (serialised by the login lock) bypass the limit, so a re-login is never
        # stuck behind calls waiting for the session it re-establishes.
        async with self._sem if queued else contextlib.nullcontext():
            if queued:
                await self._session_ok.wait()
                if self._login_failed is not None:
                    raise self._login_failed
            if self.settings.request_delay_s > 0:
                await asyncio.sleep(self.settings.request_delay_s)
            # Read the token only now: a call that queued through a re-login uses the new one.
            if auth and self._at:
                headers = {**headers, "at": self._at} if headers else {"at": self._at}
            generation = self._generation
            self.requests += 1
            endpoint = path.removeprefix("webapi/")
            try:
                async with asyncio.timeout(self.request_deadline_s):
                    response = await self._receive(
                        method, path, endpoint, params, data, headers or {}
                    )
                response.generation = generation
                return response
            except TimeoutError:
                raise _Retry(
                    PortalError(
                        f"the request to {endpoint} did not finish within "
                        f"{self.request_deadline_s:g} s after {self.settings.max_retries + 1} "
                        f"attempts ([sync] request_deadline_s); is {self.origin} reachable?"
                    )
                ) from None
            except (httpx.TransportError, httpx.DecodingError) as exc:  # a corrupt gzip body too
                problem = certificate_problem(exc)
                if problem is not None:
                    raise PortalError(
                        f"the portal's TLS certificate was not accepted ({problem}) on "
                        f"{self.origin}; {RUSSIAN_CA_HINT}"
                    ) from None
                kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
                raise _Retry(
                    PortalError(
                        f"the request to {endpoint} {kind} after "
                        f"{self.settings.max_retries + 1} attempts ({type(exc).__name__}); "
                        f"is {self.origin} reachable?"
                    )
                ) from None

    async def _receive(
        self,
        method: str,
        path: str,
        endpoint: str,
        params: dict | None,
        data: dict | None,
        headers: dict[str, str],
    ) -> Answer:
        """Send one request and read its answer, at most `max_answer_bytes` of it (decoded):
        a longer answer is dropped as it streams in, never held whole."""
        target = self._base + path.lstrip("/")
        query = "?" + _urlencoded(params) if params else ""
        fields = self._fields(target, headers)
        try:
            if self._lean is not None:
                return await self._receive_lean(method, target, query, fields, data)
            return await self._receive_httpx(self._request(method, target + query, fields, data))
        except BodyTooLarge:
            raise AnswerTooLarge(
                f"the portal's answer to {endpoint} is larger than "
                f"{self.settings.max_answer_mb:g} MB ([portal] max_answer_mb); "
                "stopped reading it"
            ) from None

    async def _receive_lean(
        self, method: str, target: str, query: str, fields: list[tuple[str, str]], data: dict | None
    ) -> Answer:
        """The request put into bytes here (the very bytes httpx's `Request` would send)
        straight to the lean transport; httpx's request is made only if needed."""
        assert self._lean is not None

        def request() -> httpx.Request:
            return self._request(method, target + query, fields, data)

        message = self._wire_bytes(method, target, query, fields, data)
        try:
            incoming = await self._lean.send(
                self._lean_origin, message, method.encode("ascii"), self._timeouts
            )
            answer = Answer(incoming.status, AnswerHeaders(incoming.headers), b"", request)
            try:
                self._answered(
                    answer,
                    incoming.version.decode("ascii"),
                    incoming.reason.decode("ascii", "ignore"),
                )
            except BaseException:
                incoming.close()
                raise
            answer.content = await incoming.read(self.max_answer_bytes)
        except httpx.RequestError as exc:
            exc.request = request()  # as httpx's client names the request of its errors
            raise
        return answer

    def _wire_bytes(
        self, method: str, target: str, query: str, fields: list[tuple[str, str]], data: dict | None
    ) -> bytes:
        """The request's bytes on the wire as httpx's `Request` makes them: request line,
        Host, the header fields, a form's length and type, the form."""
        wire = self._wire_paths.get(target)
        if wire is None:
            if len(self._wire_paths) > 256:
                self._wire_paths.clear()
            wire = self._wire_paths[target] = httpx.URL(target).raw_path.decode("ascii")
        lines = [f"{method} {wire}{query} HTTP/1.1\r\nHost: {self._host}\r\n"]
        body = _urlencoded(data).encode("utf-8") if data else b""
        if not data and method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: 0\r\n")
        lines += [f"{name}: {value}\r\n" for name, value in fields]
        if data:
            lines.append(
                f"Content-Length: {len(body)}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
            )
        lines.append("\r\n")
        return "".join(lines).encode("ascii") + body

    async def _receive_httpx(self, request: httpx.Request) -> Answer:
        """The request through any other transport (a proxy, a test's mock), as httpx's
        request and response."""
        assert self._http is not None
        response = await self._http.handle_async_request(request)
        response.request = request
        answer = Answer(response.status_code, AnswerHeaders(response.headers.raw), b"", request)
        try:
            self._answered(answer, response.http_version, response.reason_phrase)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_answer_bytes:
                    raise BodyTooLarge(size)
        finally:
            await response.aclose()
        answer.content = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return answer

    def _answered(self, answer: Answer, version: str, reason: str) -> None:
        """An answer's head has come: its cookies into the jar, the HTTP log line."""
        if "set-cookie" in answer.headers:
            self.cookies.extract_cookies(
                httpx.Response(
                    answer.status_code, headers=answer.headers.raw, request=answer.request
                )
            )
        if http_log.isEnabledFor(logging.INFO):
            http_log.info(
                'HTTP Request: %s %s "%s %d %s"',
                answer.request.method,
                answer.request.url,
                version,
                answer.status_code,
                reason,
            )

    def _fields(self, target: str, headers: dict[str, str]) -> list[tuple[str, str]]:
        """A request's header fields: every request's, this one's, the jar's cookies."""
        merged = dict(self._headers)
        for name, value in headers.items():
            merged[name.lower()] = (name, value)
        cookie = self._cookie_header(target)
        if cookie:
            merged["cookie"] = ("Cookie", cookie)
        return list(merged.values())

    def _request(
        self, method: str, url: str, fields: list[tuple[str, str]], data: dict | None
    ) -> httpx.Request:
        """The request as httpx's: what its `AsyncClient.build_request` would make from the
        base URL, the path and query, the header fields and the time-outs."""
        return httpx.Request(
            method, url, headers=fields, data=data, extensions={"timeout": self._timeouts}
        )

    def _cookie_header(self, target: str) -> str | None:
        """The `Cookie` header the jar gives `target` (a URL without its query), remembered
        per path while the jar holds the same cookies (the jar's own matching costs ~0.1 ms
        per request)."""
        jar = self._cookies.jar
        assert isinstance(jar, _Jar)
        key = (target, jar.changes)
        known = self._cookie_cache.get(key)
        if known is None or (known[1] is not None and known[1] <= time.time()):
            probe = httpx.Request("GET", target)
            self._cookies.set_cookie_header(probe)
            soonest = min((c.expires for c in jar if c.expires is not None), default=None)
            if len(self._cookie_cache) > 256:
                self._cookie_cache.clear()
            known = self._cookie_cache[(target, jar.changes)] = (
                probe.headers.get("cookie"),
                soonest,
            )
        return known[0]

    def _check(
        self,
        response: Answer,
        endpoint: str,
        expect: str,
        parse: Callable[[Any], Any] | None,
        first_look: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """Turn one answer into a value, a `_Retry`, or a final error."""
        status = response.status_code
        if status in RETRY_STATUS:
            raise _Retry(
                PortalError(
                    f"the portal answered {endpoint} with HTTP {status} "
                    f"{self.settings.max_retries + 1} times; try again later"
                ),
                _retry_after(response),
            )
        if status == 403:
            if _is_html(response):
                raise _Retry(
                    PortalRefused(
                        f"the portal refused this address (HTTP 403 page on {endpoint}): a firewall "
                        "may block this network; run the sync from the school's network or ask "
                        "the portal's operator to allow it"
                    )
                )
            raise PortalError(
                f"the portal denied access to {endpoint} (HTTP 403): "
                "the account lacks the rights for it"
            )
        if 300 <= status < 400:
            target = response.headers.get("location") or "?"
            raise PortalError(
                f"the portal redirected {endpoint} (HTTP {status}) to {target}; check "
                "[portal] base_url (https://, the exact host)"
            )
        if status >= 400:
            text = _message(response)
            raise PortalError(
                f"the portal answered {endpoint} with HTTP {status}" + (f": {text}" if text else "")
            )
        if first_look is not None:
            seen = first_look(response.content)
            if seen is not None:
                return seen
        if expect == "bytes":
            body: Any = response.content
        else:
            try:
                body = json.loads(response.content)
            except ValueError:
                raise _Retry(
                    PortalError(
                        f"the portal's answer to {endpoint} is not valid JSON (truncated or an "
                        "HTML page) even after retries"
                    )
                ) from None
        if parse is None:
            return body
        try:
            return parse(body)
        except LayoutError as exc:
            raise _Retry(exc) from None

    async def _backoff(self, attempt: int, retry_after: float | None) -> None:
        self.retries += 1
        delay = min(MAX_BACKOFF_S, self.backoff_s * 2 ** (attempt - 1))
        delay *= 0.5 + self._rng.random()
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
        log.debug("retrying in %.2f s (attempt %d)", delay, attempt + 1)
        await self._sleep(delay)


def _urlencoded(values: dict) -> str:
    """A query or form as httpx encodes it (`QueryParams`, `data=`): a list value repeats
    its key; True, False and None are "true", "false" and ""."""
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            text = "true" if item is True else "false" if item is False else item
            pairs.append((str(key), "" if text is None else str(text)))
    return urlencode(pairs)


def _is_html(response: Answer) -> bool:
    kind = response.headers.get("content-type", "")
    return "html" in kind or response.content.lstrip()[:1] == b"<"


def _is_security_warning(response: Answer) -> bool:
    return (
        response.status_code == 200
        and "html" in response.headers.get("content-type", "")
        and b"SecurityWarning.asp" in response.content
    )


def _message(response: Answer) -> str:
    try:
        body = json.loads(response.content)
    except ValueError:
        return ""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("errorMessage") or "")
    return ""


def _retry_after(response: Answer) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _diary_probe(raw: Any) -> list[dict[str, Any]]:
    return adapter.parse_diary_init(raw)
