"""The demo's last step: an account for the web page and the one command that serves it."""

from __future__ import annotations

import os
import secrets
import shlex
from pathlib import Path
from typing import Any

from asurso_sync.web.accounts import add_user, open_accounts

DEMO_LOGIN = "demo"
PASSWORD_FILE = "web-demo-password.txt"


def demo_account(out: Path) -> tuple[str, str, Path]:
    """Create the admin account `demo` in `out/web.db`; its password goes to a 0600 file."""
    password = secrets.token_urlsafe(12)
    accounts = open_accounts(out / "web.db")
    try:
        add_user(accounts, DEMO_LOGIN, "admin", password)
    finally:
        accounts.close()
    path = out / PASSWORD_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(password + "\n")
    return DEMO_LOGIN, password, path


def serve_command(out: Path) -> str:
    """The documents (`reports/`) and the accounts (`web.db`) are the defaults beside the mirror."""
    out = out.resolve()
    parts = [
        "asurso-sync",
        "serve",
        "--mirror",
        str(out / "asurso.db"),
        "--archive",
        str(out / "archive_store"),
    ]
    return shlex.join(parts)


def step_web(ctx: Any) -> None:
    """Demo step: the account, then the command (the demo itself still exits)."""
    login, password, path = demo_account(Path(ctx.out))
    ctx.say(f"web page: login {login}, password {password} (also in {path}); serve it with:")
    ctx.say(f"  {serve_command(Path(ctx.out))}")
    ctx.say("  then open http://127.0.0.1:8765/ in a browser on this computer")
