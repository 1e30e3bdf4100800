"""The portal client: login, retries, re-login, pacing; the only module that speaks HTTP.

One `PortalClient` is one session of one account. Every call goes through `_call`, which owns
the failure policy: bounded retries with exponential backoff and jitter on connection errors,
time-outs, 429/5xx and broken 200 bodies (truncated, not JSON, a changed layout); one re-login
per 401 (up to the retry budget); the SecurityWarning interstitial acknowledged and the call
repeated. Each failure that survives the retries becomes one clear `AsursoSyncError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
from collections.abc import Callable
from typing import Any

import httpx

from asurso_sync.config import PortalSettings
from asurso_sync.errors import (
    AnswerTooLarge,
    AuthError,
    ConfigError,
    CredentialsError,
    LayoutError,
    PortalError,
    PortalRefused,
)
from asurso_sync.portal import adapter

log = logging.getLogger(__name__)

RETRY_STATUS = {429, 500, 502, 503, 504}
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
    return bool(name) and name.casefold() in adapter.PARENT_ROLE_NAMES


class _Retry(Exception):
    """A failure worth another attempt; `final` is what to raise when attempts run out."""

    def __init__(self, final: Exception, retry_after: float | None = None) -> None:
        self.final = final
        self.retry_after = retry_after


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
    ) -> None:
        self.settings = settings
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
        self._http: httpx.AsyncClient | None = None
        self._at: str | None = None
        self._ver: str | None = None
        self._school_id: int | None = settings.school_id
        self.requests = 0
        self.retries = 0
        self.relogins = 0
        self.server_version: str | None = None
        self.role_name: str | None = None
        self.roles: list[dict[str, Any]] = []

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> PortalClient:
        self._http = httpx.AsyncClient(
            base_url=self.origin,
            transport=self._transport,
            timeout=httpx.Timeout(self.settings.timeout_s),
            verify=self.settings.verify_tls,
            headers={
                "Referer": self.origin + "/",
                "X-Requested-With": "XMLHttpRequest",
                "Accept": "application/json, text/javascript, */*; q=0.01",
                "User-Agent": "asurso-sync",
            },
            limits=httpx.Limits(
                max_connections=self.settings.concurrency,
                max_keepalive_connections=self.settings.concurrency,
            ),
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            if self._at is not None:
                await self.logout()
        finally:
            if self._http is not None:
                await self._http.aclose()
            if self._transport is not None:
                await self._transport.aclose()

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
        """Log in (password, loginType 1), choosing the configured role and passing warnings."""
        async with self._login_lock:
            await self._login()

    async def _login(self) -> None:
        self._at = None
        assert self._http is not None
        self._http.cookies.clear()
        info = await self._call(
            "GET", "webapi/logindata", auth=False, parse=adapter.parse_logindata
        )
        if not info["school_login"]:
            raise AuthError("the portal has password login switched off (schoolLogin: false)")
        self.server_version = info.get("version")
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
        self._generation += 1
        if "securitywarning" in result["entry_point"].lower():
            await self._ack_security_warning()
        self._session_ok.set()
        log.debug("logged in (session %d)", self._generation)

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
            pw, pw2 = password_hashes(self._password, auth["salt"])
            form = {
                "loginType": "1",
                "scid": str(school_id),
                "un": self._login_name,
                "pw": pw,
                "pw2": pw2,
                "lt": auth["lt"],
                "ver": auth["ver"],
            }
            if rolegroup is not None:
                form["rolegroup"] = str(rolegroup)
            self._ver = auth["ver"]
            try:
                response = await self._send("POST", "webapi/login", data=form, auth=False)
                if response.status_code == 409:
                    raise AuthError(_message(response) or "the portal refused the login (409)")
                return self._check(response, "login", "json", adapter.parse_login)
            except _Retry as retry:
                attempt += 1
                if attempt > self.settings.max_retries:
                    raise retry.final from None
                await self._backoff(attempt, retry.retry_after)

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
        """End the session; failures here never fail a sync."""
        if self._at is None or self._http is None:
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
        self, path: str, params: dict | None = None, parse: Callable[[Any], Any] | None = None
    ) -> Any:
        """GET a JSON endpoint under /webapi/, parsed by `parse` (retried on a bad layout)."""
        return await self._call("GET", "webapi/" + path, params=params, parse=parse)

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
                generation = response.extensions["asurso_generation"]
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
                return self._check(response, endpoint, expect, parse)
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
    ) -> httpx.Response:
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
            headers = {"at": self._at} if auth and self._at else {}
            generation = self._generation
            self.requests += 1
            endpoint = path.removeprefix("webapi/")
            try:
                response = await asyncio.wait_for(
                    self._receive(method, path, endpoint, params, data, headers),
                    self.request_deadline_s,
                )
                response.extensions["asurso_generation"] = generation
                return response
            except TimeoutError:
                raise _Retry(
                    PortalError(
                        f"the request to {endpoint} did not finish within "
                        f"{self.request_deadline_s:g} s after {self.settings.max_retries + 1} "
                        f"attempts ([sync] request_deadline_s); is {self.origin} reachable?"
                    )
                ) from None
            except httpx.TransportError as exc:
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
    ) -> httpx.Response:
        """Send one request and read its answer, at most `max_answer_bytes` of it (decoded):
        a longer answer is dropped as it streams in, never held whole."""
        assert self._http is not None
        request = self._http.build_request(method, path, params=params, data=data, headers=headers)
        response = await self._http.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_answer_bytes:
                    raise AnswerTooLarge(
                        f"the portal's answer to {endpoint} is larger than "
                        f"{self.settings.max_answer_mb:g} MB ([portal] max_answer_mb); "
                        "stopped reading it"
                    )
        finally:
            await response.aclose()
        kept = [
            (k, v)
            for k, v in response.headers.raw
            if k.lower() not in (b"content-encoding", b"content-length", b"transfer-encoding")
        ]
        body = b"".join(chunks)
        del chunks
        return httpx.Response(response.status_code, headers=kept, content=body, request=request)

    def _check(
        self,
        response: httpx.Response,
        endpoint: str,
        expect: str,
        parse: Callable[[Any], Any] | None,
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
        if status >= 400:
            text = _message(response)
            raise PortalError(
                f"the portal answered {endpoint} with HTTP {status}" + (f": {text}" if text else "")
            )
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


def _is_html(response: httpx.Response) -> bool:
    kind = response.headers.get("content-type", "")
    return "html" in kind or response.content.lstrip()[:1] == b"<"


def _is_security_warning(response: httpx.Response) -> bool:
    return (
        response.status_code == 200
        and "html" in response.headers.get("content-type", "")
        and b"SecurityWarning.asp" in response.content
    )


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("errorMessage") or "")
    return ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        from datetime import UTC, datetime

        return max(0.0, (when - datetime.now(UTC)).total_seconds())
