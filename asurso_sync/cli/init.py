"""The `init` command: a short dialogue that writes a working config and a 0600 password file.

Every question is also an option, so the set-up can be scripted. The school is found through
the portal's `schools/search`; the login is checked against the portal before anything is
written.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from asurso_sync.cli import App, cli
from asurso_sync.config import (
    DEFAULT_CONFIG_NAME,
    PortalSettings,
    parse_config,
    write_secret_file,
)
from asurso_sync.errors import AsursoSyncError, AuthError, ConfigError

PASSWORD_FILE = "asurso-sync.password"


def search_schools(base_url: str, name: str, *, verify_tls: bool = True) -> list[dict[str, Any]]:
    """Schools whose name contains `name`, as the portal's `schools/search` lists them."""
    from asurso_sync.portal.client import PortalClient

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
    from asurso_sync.portal.client import PortalClient

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
    school: str,
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
        f"school = {_toml(school)}",
        f"school_id = {school_id}",
    ]
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
    import tomllib

    parse_config(tomllib.loads(text))  # never write a config the tool itself would refuse
    return text


def choose_school(found: list[dict], wanted: str, school_id: int | None, interactive: bool) -> dict:
    """The school to use: by id, by an exact name, the only candidate, or the user's pick."""
    if school_id is not None:
        for s in found:
            if int(s["id"]) == school_id:
                return s
        raise ConfigError(f"the portal lists no school with id {school_id} for {wanted!r}")
    exact = [s for s in found if wanted.strip() in (s["short_name"], s["name"])]
    if len(exact) == 1:
        return exact[0]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigError(f"the portal found no school matching {wanted!r}")
    listing = [
        f"{n}) {s['short_name'] or s['name']} (id {s['id']})" for n, s in enumerate(found, start=1)
    ]
    if not interactive:
        raise ConfigError(
            f"{len(found)} schools match {wanted!r}: " + "; ".join(listing) + " — pass --school-id"
        )
    click.echo(f"Schools matching {wanted!r}:")
    for line in listing:
        click.echo("  " + line)
    n = click.prompt("Number of your school", type=click.IntRange(1, len(found)))
    return found[n - 1]


@cli.command()
@click.option("--portal", "base_url", help="The portal's address, e.g. https://asurso.ru.")
@click.option("--school", help="The school's name or a part of it (searched on the portal).")
@click.option("--school-id", type=int, help="The school's portal id (skips the choice).")
@click.option("--login", help="The portal login of the account the tool syncs with.")
@click.option(
    "--password",
    envvar="ASURSO_PASSWORD",
    show_envvar=True,
    help="The password (better: set $ASURSO_PASSWORD or answer the hidden prompt).",
)
@click.option("--role", help="The role to use when the account has several.")
@click.option(
    "--mirror",
    default="asurso.db",
    show_default=True,
    help="The mirror's file, relative to the config's folder.",
)
@click.option(
    "--timezone", default="Europe/Samara", show_default=True, help="The school's time zone."
)
@click.option(
    "--password-file",
    default=PASSWORD_FILE,
    show_default=True,
    help="Where to keep the password (mode 0600), relative to the config's folder.",
)
@click.option("--no-check", is_flag=True, help="Do not log in to check (offline set-up).")
@click.option("--force", is_flag=True, help="Overwrite an existing config and password file.")
@click.pass_obj
def init(
    app: App,
    base_url: str | None,
    school: str | None,
    school_id: int | None,
    login: str | None,
    password: str | None,
    role: str | None,
    mirror: str,
    timezone: str,
    password_file: str,
    no_check: bool,
    force: bool,
) -> None:
    """Set up: find the school on the portal, check the login, write the config and a 0600
    password file, and say what to run next."""
    config_path = Path(app.config_path or DEFAULT_CONFIG_NAME).absolute()
    secret_path = config_path.parent / password_file
    for path in (config_path, secret_path):
        if path.exists() and not force:
            raise AsursoSyncError(f"{path} already exists; pass --force to replace it")
    interactive = any(v is None for v in (base_url, school, login, password))
    base_url = (base_url or click.prompt("Portal address", default="https://asurso.ru")).rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        base_url = "https://" + base_url
    wanted = school or click.prompt("School name (or a part of it)")
    chosen = choose_school(search_schools(base_url, wanted), wanted, school_id, interactive)
    name = chosen["short_name"] or chosen["name"]
    click.echo(f"School: {name} (id {chosen['id']})")
    login = login or click.prompt("Login")
    ask_password = password is None
    password = password or click.prompt("Password", hide_input=True)
    settings = PortalSettings(
        base_url=base_url, school_id=int(chosen["id"]), role=role, max_retries=2, timeout_s=20.0
    )
    if not no_check:
        settings, role, password = _checked(settings, login, password, ask_password, interactive)
    text = render_config(
        base_url=base_url,
        school=name,
        school_id=int(chosen["id"]),
        role=role,
        login=login,
        password_file=password_file,
        mirror=mirror,
        timezone=timezone,
    )
    write_secret_file(secret_path, password)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {config_path} and {secret_path} (mode 0600).")
    opt = "" if config_path == Path(DEFAULT_CONFIG_NAME).absolute() else f" --config {config_path}"
    click.echo("Next:")
    click.echo(f"  asurso-sync{opt} sync --full      # the first full copy of the year")
    click.echo(f"  asurso-sync{opt} check            # the regulation's checks")
    click.echo(f"  asurso-sync{opt} status           # what the mirror holds")
    click.echo(f"  asurso-sync{opt} schedule --print-cron   # nightly runs (or docs/systemd/)")


def _checked(
    settings: PortalSettings, login: str, password: str, ask_password: bool, interactive: bool
) -> tuple[PortalSettings, str | None, str]:
    """Log in; re-ask a refused password (up to 3 tries) and the role when several exist."""
    for attempt in range(3):
        try:
            result = check_login(settings, login, password)
        except AuthError as exc:
            if not ask_password or attempt == 2:
                raise
            click.echo(f"The portal refused the login: {exc}", err=True)
            password = click.prompt("Password", hide_input=True)
            continue
        if result["ok"]:
            click.echo(f"Login ok (role: {result['role'] or 'the only one'}).")
            return settings, settings.role or _staff_role(result), password
        roles = result["roles"]
        if not interactive:
            raise ConfigError(f"the account has several roles ({', '.join(roles)}); pass --role")
        click.echo("The account has several roles:")
        for n, r in enumerate(roles, start=1):
            click.echo(f"  {n}) {r}")
        n = click.prompt("Number of the role to sync with", type=click.IntRange(1, len(roles)))
        settings = replace(settings, role=roles[n - 1])
    raise AuthError("the portal refused the login three times")


def _staff_role(result: dict) -> str | None:
    """Keep the role the portal chose when the account had a choice of several."""
    return result["role"] if len(result["roles"]) > 1 else None
