"""The `init` command: a short dialogue that writes a working config and a 0600 password file.

Every question is also an option, so the set-up can be scripted; the work (school search, login
check, writing the files) is in `asurso_sync/setup.py`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from asurso_sync import setup
from asurso_sync.cli.app import App, cli
from asurso_sync.config import DEFAULT_CONFIG_NAME, PortalSettings
from asurso_sync.errors import AsursoSyncError, AuthError, ConfigError


def ask_school(base_url: str, wanted: str | None, interactive: bool) -> dict:
    """Search the portal by (a part of) the name; ask again while nothing matches, and let the
    person choose among several."""
    while True:
        wanted = wanted or click.prompt("School name (or a part of it)")
        found = setup.search_schools(base_url, wanted)
        if not found and interactive:
            click.echo(f"No school on the portal matches {wanted!r}; try another part of the name.")
            wanted = None
            continue
        chosen = setup.match_school(found, wanted)
        if chosen is not None:
            return chosen
        if not interactive:
            raise setup.ambiguous(found, wanted)
        click.echo(f"Schools matching {wanted!r}:")
        for line in setup.candidates(found):
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
    default=setup.PASSWORD_FILE,
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
    interactive = any(v is None for v in (base_url, login, password)) or (
        school is None and school_id is None
    )
    base_url = (base_url or click.prompt("Portal address", default="https://asurso.ru")).rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        base_url = "https://" + base_url
    name: str | None = None
    if school_id is not None and school is None:
        chosen_id = school_id  # the id is enough: nothing to search for
        click.echo(f"School: id {school_id}")
    else:
        if school is not None and school_id is not None:
            found = setup.search_schools(base_url, school)
            chosen = setup.match_school(found, school, school_id) or {}
        else:
            chosen = ask_school(base_url, school, interactive)
        name, chosen_id = setup.school_label(chosen), int(chosen["id"])
        click.echo(f"School: {name} (id {chosen_id})")
    login = login or click.prompt("Login")
    ask_password = password is None
    password = password or click.prompt("Password", hide_input=True)
    settings = PortalSettings(
        base_url=base_url, school_id=chosen_id, role=role, max_retries=2, timeout_s=20.0
    )
    if not no_check:
        settings, role, password = _checked(settings, login, password, ask_password, interactive)
    text = setup.render_config(
        base_url=base_url,
        school=name,
        school_id=chosen_id,
        role=role,
        login=login,
        password_file=password_file,
        mirror=mirror,
        timezone=timezone,
    )
    setup.write_setup(config_path, text, secret_path, password)
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
            result = setup.check_login(settings, login, password)
        except AuthError as exc:
            if not ask_password or attempt == 2:
                raise
            click.echo(f"The portal refused the login: {exc}", err=True)
            password = click.prompt("Password", hide_input=True)
            continue
        if result["ok"]:
            click.echo(f"Login ok (role: {result['role'] or 'the only one'}).")
            return settings, settings.role or setup.staff_role(result), password
        roles = result["roles"]
        if not interactive:
            raise ConfigError(f"the account has several roles ({', '.join(roles)}); pass --role")
        click.echo("The account has several roles:")
        for n, r in enumerate(roles, start=1):
            click.echo(f"  {n}) {r}")
        n = click.prompt("Number of the role to sync with", type=click.IntRange(1, len(roles)))
        settings = replace(settings, role=roles[n - 1])
    raise AuthError("the portal refused the login three times")
