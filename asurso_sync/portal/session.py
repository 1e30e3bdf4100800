"""An imported browser session (`asurso-sync login --session-from FILE`): the ESIA fallback.

When the portal refuses password login for the account's role (Госуслуги only), a person logs
in with a browser and copies the `at` token and the session cookies (NSSESSIONID, ESRNSec) into
a file. We keep them 0600 next to the mirror and keep the session alive with a light request
(`GET /webapi/context`) before the portal's idle time-out; such sessions are short-lived, and
an expired one is an error (exit 4), never a silent fallback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import httpx

from asurso_sync.config import Config, PortalSettings, read_login, read_password
from asurso_sync.errors import ConfigError, CredentialsError
from asurso_sync.portal import adapter
from asurso_sync.portal.client import PortalClient

SESSION_COOKIES = ("NSSESSIONID", "ESRNSec")
SHORT_LIVED = (
    "an imported browser session is short-lived: the portal ends it after its idle time-out "
    "(often 15–60 minutes) or when someone logs in or out in that browser; run "
    "`asurso-sync login --keep-alive` more often than that (e.g. every 10 minutes from cron)"
)


def session_path(config: Config) -> Path:
    """Where the imported session lives: next to the mirror, `<mirror>.session.json`."""
    mirror = config.mirror_path
    return mirror.with_name(mirror.name + ".session.json")


def _cookies(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if v}
    if isinstance(value, str):
        pairs = (part.strip().partition("=") for part in value.split(";"))
        return {k.strip(): v.strip() for k, _, v in pairs if k.strip() and v.strip()}
    if isinstance(value, list):  # a browser's export: [{name, value, ...}]
        return {
            str(c["name"]): str(c["value"]) for c in value if isinstance(c, dict) and c.get("value")
        }
    return {}


def read_browser_session(path: Path) -> dict[str, Any]:
    """A session file: JSON `{"at": ..., "cookies": {...} | "a=b; c=d" | [...], "ver": ...}`,
    or text lines as DevTools shows them (`at: ...`, `cookie: NSSESSIONID=...; ESRNSec=...`)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the session file {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw)
    except ValueError:
        data = {}
        for line in raw.splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() in ("at", "cookie", "ver"):
                data[key.strip().lower().replace("cookie", "cookies")] = value.strip()
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object with at and cookies")
    at = str(data.get("at") or "").strip()
    cookies = {k: v for k, v in _cookies(data.get("cookies")).items() if k in SESSION_COOKIES}
    if not at or "ESRNSec" not in cookies:
        raise ConfigError(
            f"{path} must give the `at` token and the ESRNSec cookie of a logged-in browser "
            "(DevTools → Network → any /webapi/ request → Request headers)"
        )
    return {"at": at, "cookies": cookies, "ver": data.get("ver") or None}


def save_session(path: Path, session: dict[str, Any]) -> None:
    """Write the session 0600 (it is as good as a password while it lives)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(session, fh, ensure_ascii=False)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_session(config: Config) -> dict[str, Any] | None:
    path = session_path(config)
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


async def _touch(
    settings: PortalSettings, session: dict[str, Any], transport: httpx.AsyncBaseTransport | None
) -> dict[str, Any]:
    client = PortalClient(settings, "", "", transport=transport, backoff_s=0.2, session=session)
    async with client:
        await client.login()
        return await client.get("context", parse=adapter.parse_context)


def keep_alive(
    settings: PortalSettings,
    session: dict[str, Any],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """One light request on the imported session; `SessionExpired` (exit 4) when it is over.
    Returns the session with `last_used` updated."""
    context = asyncio.run(_touch(settings, session, transport))
    return {
        **session,
        "school_id": context["school_id"],
        "last_used": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def credentials(config: Config) -> tuple[str, str, dict[str, Any] | None]:
    """(login, password, None) from the config; without them an imported browser session
    ("", "", session) when there is one; else the `CredentialsError` about the password."""
    try:
        return (
            read_login(config.credentials),
            read_password(config.credentials, config.path.parent if config.path else None),
            None,
        )
    except CredentialsError:
        session = load_session(config)
        if session is None:
            raise
        return "", "", session
