"""Who ran what (152-ФЗ ст. 19 ч. 2 п. 8): an append-only `audit_log` in the mirror.

Details hold ids and counts only, never names, marks or secrets. The table's triggers refuse
UPDATE and DELETE, so the record cannot be rewritten through the tool.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import os
import sqlite3

from sqlite_utils import Database

log = logging.getLogger(__name__)


def os_user() -> str:
    """The login name of the process, or its uid where there is none (containers, cron)."""
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())


def record_action(db: Database, command: str, detail: str, *, commit: bool = False) -> None:
    """Append one row; a read-only snapshot of the mirror is left alone."""
    try:
        db.conn.execute(
            "INSERT INTO audit_log (at, os_user, command, detail) VALUES (?, ?, ?, ?)",
            [dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), os_user(), command, detail],
        )
        if commit:
            db.conn.commit()
    except sqlite3.OperationalError as exc:
        if "readonly" in str(exc):  # a read-only snapshot (the archive renders from one)
            log.debug("not recording %s in a read-only mirror", command)
            return
        log.warning("could not record %s in audit_log: %s", command, exc)
    except sqlite3.Error as exc:
        log.warning("could not record %s in audit_log: %s", command, exc)
