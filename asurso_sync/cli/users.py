"""The `users` command group: accounts of the web page (asurso_sync.web.accounts)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from asurso_sync.cli.app import App, cli
from asurso_sync.mirror.db import open_mirror
from asurso_sync.web.accounts import (
    ROLES,
    AccountError,
    add_user,
    disable_user,
    find_teacher,
    list_users,
    open_accounts,
    set_password,
    utc_now,
)

PASSWORD_ENV = "ASURSO_WEB_PASSWORD"

accounts_option = click.option(
    "--accounts",
    type=click.Path(dir_okay=False),
    help="Accounts file (default: web.db beside the mirror).",
)


def _accounts_file(app: App, accounts: str | None) -> Path:
    return Path(accounts) if accounts else app.config.mirror_path.parent / "web.db"


def _password(env: str) -> str:
    """From the environment variable when set (scripts), else asked twice, never shown."""
    value = os.environ.get(env)
    if value:
        return value
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@cli.group()
def users() -> None:
    """Accounts of the web page: deputy, secretary, admin, teacher."""


@users.command(name="add")
@click.argument("login")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may see.")
@click.option("--teacher", metavar="NAME", help="The mirror's teacher (for --role teacher).")
@click.option(
    "--password-env",
    default=PASSWORD_ENV,
    show_default=True,
    help="Read the password from this environment variable when it is set (else a prompt).",
)
@accounts_option
@click.pass_obj
def add(
    app: App, login: str, role: str, teacher: str | None, password_env: str, accounts: str | None
) -> None:
    """Create the account LOGIN (the password is asked for, never given on the command line)."""
    teacher_id = teacher_name = None
    if teacher is not None:
        if not app.config.mirror_path.exists():
            raise AccountError(
                f"no mirror at {app.config.mirror_path} to find the teacher in: sync first"
            )
        mirror = open_mirror(app.config.mirror_path, readonly=True)
        try:
            teacher_id, teacher_name = find_teacher(mirror, teacher)
        finally:
            mirror.close()
    db = open_accounts(_accounts_file(app, accounts))
    try:
        user = add_user(
            db,
            login,
            role,
            _password(password_env),
            teacher_id=teacher_id,
            teacher_name=teacher_name,
        )
    finally:
        db.close()
    click.echo(
        f"added {user.login} ({user.role_name})" + (f": {teacher_name}" if teacher_name else "")
    )


@users.command(name="list")
@accounts_option
@click.pass_obj
def list_(app: App, accounts: str | None) -> None:
    """Every account with its role and state (never a password)."""
    db = open_accounts(_accounts_file(app, accounts))
    try:
        now = utc_now().isoformat(timespec="seconds")
        for u in list_users(db):
            locked = u["locked_until"] and u["locked_until"] > now
            state = "disabled" if u["disabled"] else ("locked" if locked else "active")
            teacher = f"  {u['teacher_name']}" if u["teacher_name"] else ""
            click.echo(f"{u['login']:<20} {u['role']:<10} {state:<8}{teacher}")
    finally:
        db.close()


@users.command()
@click.argument("login")
@click.option("--password-env", default=PASSWORD_ENV, show_default=True, help="As for `add`.")
@accounts_option
@click.pass_obj
def passwd(app: App, login: str, password_env: str, accounts: str | None) -> None:
    """Set a new password for LOGIN (ends its sessions, lifts a lock-out)."""
    db = open_accounts(_accounts_file(app, accounts))
    try:
        set_password(db, login, _password(password_env))
    finally:
        db.close()
    click.echo(f"password of {login} changed")


@users.command()
@click.argument("login")
@accounts_option
@click.pass_obj
def disable(app: App, login: str, accounts: str | None) -> None:
    """Disable LOGIN: it can no longer log in, its sessions end."""
    db = open_accounts(_accounts_file(app, accounts))
    try:
        disable_user(db, login)
    finally:
        db.close()
    click.echo(f"{login} disabled")
