"""The web page's accounts, sessions and lock-outs, in `web.db` beside the mirror.

Accounts live in their own file, not in the mirror: the mirror is copied into archive bags and
opened by `datasette`, and password hashes belong in neither. `web.db` is created 0600.

* Passwords are argon2id hashes (argon2-cffi); they come from a prompt or an environment
  variable, never from the command line.
* A session is a random token; the browser holds it signed (itsdangerous) in an HttpOnly,
  SameSite=Strict cookie, the server keeps only its SHA-256, the login, its CSRF token and when
  it was last used (idle time-out).
* `LOCK_AFTER` wrong passwords in a row lock a login for `LOCK_MINUTES`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlite_utils import Database, Migrations

from asurso_sync.errors import AsursoSyncError

ROLES = ("admin", "deputy", "secretary", "teacher")
ROLE_NAMES = {
    "admin": "администратор",
    "deputy": "заместитель директора",
    "secretary": "секретарь",
    "teacher": "учитель",
}
LOCK_AFTER = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# verified against for unknown logins, so that a wrong login costs as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))

migrations = Migrations("asurso_sync_web")


class AccountError(AsursoSyncError):
    """A refused account operation (unknown login, weak password, bad role)."""


@migrations()
def m010_web_accounts(db: Database) -> None:
    db.table("users").create(
        {
            "login": str,
            "role": str,
            "teacher_id": int,
            "teacher_name": str,
            "password_hash": str,
            "disabled": int,
            "failed_logins": int,
            "locked_until": str,
            "created_at": str,
            "password_set_at": str,
            "last_login_at": str,
        },
        pk="login",
        not_null={"role", "password_hash"},
        defaults={"disabled": 0, "failed_logins": 0},
    )
    db.table("sessions").create(
        {
            "token_hash": str,
            "login": str,
            "csrf": str,
            "created_at": str,
            "last_seen_at": str,
        },
        pk="token_hash",
        foreign_keys=[("login", "users", "login")],
    )
    db.table("sessions").create_index(["login"])
    # the secret that signs cookies; made once, kept with the accounts (0600)
    db.table("web_secrets").create({"name": str, "value": str}, pk="name")
    db.table("web_secrets").insert({"name": "cookie_key", "value": secrets.token_urlsafe(48)})


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


def open_accounts(path: str | os.PathLike[str]) -> Database:
    """web.db, created with mode 0600 and migrated."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    db = Database(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA foreign_keys=ON")
    migrations.apply(db)
    for suffix in ("-wal", "-shm"):
        side = Path(str(path) + suffix)
        if side.exists():
            os.chmod(side, 0o600)
    return db


def cookie_key(db: Database) -> str:
    row = db.execute("SELECT value FROM web_secrets WHERE name = 'cookie_key'").fetchone()
    return str(row[0])


@dataclass(frozen=True)
class User:
    login: str
    role: str
    teacher_id: int | None = None
    teacher_name: str | None = None

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def add_user(
    db: Database,
    login: str,
    role: str,
    password: str,
    *,
    teacher_id: int | None = None,
    teacher_name: str | None = None,
) -> User:
    """Create an account; a teacher's account names the mirror's teacher it belongs to."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if role == "teacher" and teacher_id is None:
        raise AccountError("a teacher's account needs --teacher NAME")
    if role != "teacher" and teacher_id is not None:
        raise AccountError("--teacher is only for --role teacher")
    if not login or not login.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise AccountError("a login is letters, digits, '.', '-' and '_'")
    check_password(password)
    if db.execute("SELECT 1 FROM users WHERE login = ?", [login]).fetchone():
        raise AccountError(f"there is already an account {login!r}")
    now = _iso(utc_now())
    with db.conn:
        db.table("users").insert(
            {
                "login": login,
                "role": role,
                "teacher_id": teacher_id,
                "teacher_name": teacher_name,
                "password_hash": _hasher.hash(password),
                "disabled": 0,
                "failed_logins": 0,
                "created_at": now,
                "password_set_at": now,
            }
        )
    return User(login, role, teacher_id, teacher_name)


def _require(db: Database, login: str) -> None:
    if db.execute("SELECT 1 FROM users WHERE login = ?", [login]).fetchone() is None:
        raise AccountError(f"no account {login!r} (see `users list`)")


def set_password(db: Database, login: str, password: str) -> None:
    """New password; every session of the account ends and a lock-out is lifted."""
    _require(db, login)
    check_password(password)
    with db.conn:
        db.execute(
            "UPDATE users SET password_hash = ?, password_set_at = ?, failed_logins = 0, "
            "locked_until = NULL WHERE login = ?",
            [_hasher.hash(password), _iso(utc_now()), login],
        )
        db.execute("DELETE FROM sessions WHERE login = ?", [login])


def disable_user(db: Database, login: str) -> None:
    """The account can no longer log in; its sessions end now."""
    _require(db, login)
    with db.conn:
        db.execute("UPDATE users SET disabled = 1 WHERE login = ?", [login])
        db.execute("DELETE FROM sessions WHERE login = ?", [login])


def list_users(db: Database) -> list[dict]:
    cursor = db.execute(
        "SELECT login, role, teacher_name, disabled, locked_until, created_at, last_login_at "
        "FROM users ORDER BY login"
    )
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class LoginRefused(Exception):
    """Wrong login or password, a disabled account, or a lock-out (`locked` says which)."""

    def __init__(self, locked: bool = False) -> None:
        super().__init__("locked" if locked else "refused")
        self.locked = locked


def authenticate(db: Database, login: str, password: str, now: dt.datetime | None = None) -> User:
    """The user, or LoginRefused. Counts wrong passwords and locks the login after LOCK_AFTER."""
    now = now or utc_now()
    row = db.execute(
        "SELECT role, teacher_id, teacher_name, password_hash, disabled, failed_logins, "
        "locked_until FROM users WHERE login = ?",
        [login],
    ).fetchone()
    if row is None:
        _verify(_DUMMY_HASH, password)
        raise LoginRefused()
    role, teacher_id, teacher_name, stored, disabled, failed, locked_until = row
    if locked_until and dt.datetime.fromisoformat(locked_until) > now:
        raise LoginRefused(locked=True)
    if not _verify(stored, password) or disabled:
        failed = (failed or 0) + (0 if disabled else 1)
        until = _iso(now + dt.timedelta(minutes=LOCK_MINUTES)) if failed >= LOCK_AFTER else None
        with db.conn:
            db.execute(
                "UPDATE users SET failed_logins = ?, locked_until = ? WHERE login = ?",
                [0 if until else failed, until, login],
            )
        raise LoginRefused(locked=until is not None)
    with db.conn:
        db.execute(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? "
            "WHERE login = ?",
            [_iso(now), login],
        )
    return User(login, role, teacher_id, teacher_name)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Database, user: User, now: dt.datetime | None = None) -> tuple[str, str]:
    """A new session: (token for the cookie, CSRF token for the forms)."""
    now = now or utc_now()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with db.conn:
        db.table("sessions").insert(
            {
                "token_hash": _token_hash(token),
                "login": user.login,
                "csrf": csrf,
                "created_at": _iso(now),
                "last_seen_at": _iso(now),
            }
        )
    return token, csrf


def resume_session(
    db: Database, token: str, idle: dt.timedelta, now: dt.datetime | None = None
) -> tuple[User, str] | None:
    """(user, CSRF token) of a live session, touching it; None when unknown, idle or disabled."""
    now = now or utc_now()
    key = _token_hash(token)
    row = db.execute(
        "SELECT s.last_seen_at, s.csrf, u.login, u.role, u.teacher_id, u.teacher_name, "
        "u.disabled FROM sessions s JOIN users u ON u.login = s.login WHERE s.token_hash = ?",
        [key],
    ).fetchone()
    if row is None:
        return None
    last_seen, csrf, login, role, teacher_id, teacher_name, disabled = row
    try:
        with db.conn:
            if disabled or now - dt.datetime.fromisoformat(last_seen) > idle:
                db.execute("DELETE FROM sessions WHERE token_hash = ?", [key])
                return None
            if now - dt.datetime.fromisoformat(last_seen) > dt.timedelta(seconds=30):
                db.execute(
                    "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", [_iso(now), key]
                )
    except sqlite3.OperationalError:  # busy: the session stays valid, the touch is skipped
        pass
    return User(login, role, teacher_id, teacher_name), csrf


def end_session(db: Database, token: str) -> None:
    with db.conn:
        db.execute("DELETE FROM sessions WHERE token_hash = ?", [_token_hash(token)])


def find_teacher(mirror: Database, name: str) -> tuple[int, str]:
    """The one mirror teacher whose name contains `name` (or whose id it is)."""
    key = name.strip().lower()
    found = [
        (r[0], r[1])
        for r in mirror.execute(
            "SELECT id, name FROM teachers WHERE deleted_at IS NULL ORDER BY name"
        ).fetchall()
        if str(r[0]) == key or key in (r[1] or "").lower()
    ]
    if not found:
        raise AccountError(f"no teacher matching {name!r} in the mirror")
    if len(found) > 1:
        names = "; ".join(f"{n} ({i})" for i, n in found[:5])
        raise AccountError(f"{len(found)} teachers match {name!r}: {names}; give more of the name")
    return found[0]
