"""`init`'s work without its dialogue: find the school, check the login, write the config.

The command (`cli/init.py`) asks the questions; everything here is callable from a script or a
test. The school is found through the portal's school search; the login is checked against the
portal before anything is written; the config and the 0600 password file are written only then.
"""

from __future__ import annotations

import asyncio
import json
import os
import tomllib
from pathlib import Path
from typing import Any

from asurso_sync.config import PortalSettings, parse_config, write_secret_file
from asurso_sync.errors import ConfigError
from asurso_sync.portal.client import PortalClient

PASSWORD_FILE = "asurso-sync.password"


def search_schools(base_url: str, name: str, *, verify_tls: bool = True) -> list[dict[str, Any]]:
    """Schools whose name contains `name`, as the portal's school search lists them."""

    async def run() -> list[dict[str, Any]]:
        settings = PortalSettings(
            base_url=base_url, verify_tls=verify_tls, max_retries=2, timeout_s=20.0
        )
        async with PortalClient(settings, "", "", backoff_s=0.2) as client:
            return await client.search_schools(name)

    return asyncio.run(run())


def check_login(settings: PortalSettings, login: str, password: str) -> dict[str, Any]:
    """Log in once and out again: {"ok", "role", "roles", "version"}.

    A wrong password raises AuthError with the portal's own words; an account with several
    roles and none chosen gives ok=False and the role names to choose from.
    """

    async def run() -> dict[str, Any]:
        client = PortalClient(settings, login, password, backoff_s=0.2)
        async with client:
            try:
                await client.login()
            except ConfigError:
                names = [str(r.get("name")) for r in client.roles if r.get("name")]
                if not names or settings.role:
                    raise
                return {"ok": False, "role": None, "roles": names, "version": client.server_version}
            return {
                "ok": True,
                "role": client.role_name,
                "roles": [str(r.get("name")) for r in client.roles],
                "version": client.server_version,
            }

    return asyncio.run(run())


def school_label(school: dict[str, Any]) -> str:
    return str(school["short_name"] or school["name"])


def candidates(found: list[dict[str, Any]]) -> list[str]:
    """The numbered list a person chooses from: `1) МБОУ Школа № 3 (id 107)`."""
    return [f"{n}) {school_label(s)} (id {s['id']})" for n, s in enumerate(found, start=1)]


def match_school(
    found: list[dict[str, Any]], wanted: str, school_id: int | None = None
) -> dict[str, Any] | None:
    """The one school meant: by id, by an exact name, or the only candidate.

    None when several match and a person must choose; ConfigError when none does.
    """
    if school_id is not None:
        for s in found:
            if int(s["id"]) == school_id:
                return s
        raise ConfigError(f"the portal lists no school with id {school_id} for {wanted!r}")
    if not found:
        raise ConfigError(f"the portal found no school matching {wanted!r}")
    exact = [s for s in found if wanted.strip() in (s["short_name"], s["name"])]
    if len(exact) == 1:
        return exact[0]
    if len(found) == 1:
        return found[0]
    return None


def ambiguous(found: list[dict[str, Any]], wanted: str) -> ConfigError:
    return ConfigError(
        f"{len(found)} schools match {wanted!r}: "
        + "; ".join(candidates(found))
        + " — pass --school-id"
    )


def _toml(value: Any) -> str:
    """A TOML value: JSON's string escapes are valid TOML basic strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def render_config(
    *,
    base_url: str,
    school: str | None,
    school_id: int,
    role: str | None,
    login: str,
    password_file: str,
    mirror: str,
    timezone: str,
) -> str:
    """The config `init` writes: only what differs from the defaults, with comments."""
    lines = [
        "# asurso-sync configuration written by `asurso-sync init`.",
        "# Every key and its default: config.example.toml. The password is NOT in this file.",
        "",
        "[portal]",
        f"base_url = {_toml(base_url)}",
    ]
    if school:
        lines.append(f"school = {_toml(school)}")
    lines.append(f"school_id = {school_id}")
    if role:
        lines.append(f"role = {_toml(role)}")
    lines += [
        "",
        "[credentials]",
        f"login = {_toml(login)}",
        "# A file only this user can read (mode 0600). Under systemd, remove this line and",
        "# pass the file with LoadCredential=password:... (see docs/systemd/).",
        f"password_file = {_toml(password_file)}",
        "",
        "[mirror]",
        f"path = {_toml(mirror)}",
        "",
        "[sync]",
        f"timezone = {_toml(timezone)}",
        "",
    ]
    text = "\n".join(lines)
    parse_config(tomllib.loads(text))  # never write a config the tool itself would refuse
    return text


def write_setup(config_path: Path, config_text: str, secret_path: Path, password: str) -> None:
    """The password file (0600), then the config (0640), each written whole or not at all."""
    write_secret_file(secret_path, password)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    partial = config_path.with_name(f".{config_path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(config_text)
    os.replace(partial, config_path)


def staff_role(result: dict[str, Any]) -> str | None:
    """Keep the role the portal chose when the account had a choice of several."""
    return result["role"] if len(result["roles"]) > 1 else None
