"""The unlock register (п. 7.4): «в случае, если оценки не выставлены в течение 7 дней … для
открытия даты выставления оценок. Дата открывается на 12 часов». One window opens ONE lesson
date of one journal for 12 hours; an entry for that date made inside the window is `excused`
under the 7-day lock rule (R08) only — not under the 5-day written-work rule or any other,
unless the register names more rules for that window.

The register is a CSV (or TOML with `[[unlock]]` tables) the administrator keeps by hand:

    id,date,start,teacher,class,subject,hours,rules
    u1,2026-10-02,2026-10-12T09:00:00,Петрова Мария Ивановна,5а,Математика,12,

`date` is the lesson date opened (required); `start` is school-local time; `teacher`, `class`,
`subject` are names (or ids), blank = any; `hours` defaults to `[rules] unlock_hours`; `rules`
(blank = R08) lists the rules the window excuses, separated by spaces or «;».
"""

from __future__ import annotations

import csv
import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

from asurso_sync.errors import ConfigError

DEFAULT_EXCUSES = ("R08",)


@dataclass(frozen=True)
class UnlockWindow:
    id: str
    date: str
    start: str
    end: str
    teacher: str = ""
    class_name: str = ""
    subject: str = ""
    rules: tuple[str, ...] = DEFAULT_EXCUSES

    def covers(
        self,
        rule: str,
        lesson_date: str | None,
        entered_at: str,
        teachers: set[str],
        class_name: str,
        subject: str,
    ) -> bool:
        """Whether a `rule` finding on an entry at entered_at for the lesson of lesson_date, by
        one of `teachers` in this journal, is excused by this window."""
        if rule not in self.rules or lesson_date != self.date:
            return False
        if not (self.start <= entered_at <= self.end):
            return False
        if self.teacher and self.teacher not in teachers:
            return False
        if self.class_name and self.class_name != class_name:
            return False
        return not self.subject or self.subject == subject


def read_unlock_register(path: Path, default_hours: float = 12.0) -> list[UnlockWindow]:
    """The windows of a CSV or TOML register; a malformed line is a ConfigError naming it."""
    if not path.exists():
        raise ConfigError(f"[rules] unlock_register: {path} does not exist")
    if path.suffix.lower() == ".toml":
        try:
            items = tomllib.loads(path.read_text(encoding="utf-8")).get("unlock", [])
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        rows = [(n, {k: _text(v) for k, v in item.items()}) for n, item in enumerate(items, 1)]
    else:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(enumerate(csv.DictReader(fh), start=2))
    return [_window(path, line, row, default_hours) for line, row in rows]


def _text(value: object) -> str:
    """A TOML value as the CSV would hold it (a list of rules → «R08 R24»)."""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _window(path: Path, line: int, row: dict, default_hours: float) -> UnlockWindow:
    try:
        start = dt.datetime.fromisoformat((row.get("start") or "").strip())
        hours = float((row.get("hours") or "").strip() or default_hours)
    except ValueError as exc:
        raise ConfigError(f"{path} entry {line}: {exc} (start must be YYYY-MM-DDTHH:MM)") from None
    try:
        day = dt.date.fromisoformat((row.get("date") or "").strip())
    except ValueError:
        raise ConfigError(
            f"{path} entry {line}: date must be the lesson date opened, YYYY-MM-DD (п. 7.4: "
            "«дата открывается на 12 часов»)"
        ) from None
    rules = tuple(
        r.strip().upper() for r in (row.get("rules") or "").replace(";", " ").split() if r.strip()
    )
    end = start + dt.timedelta(hours=hours)
    return UnlockWindow(
        id=(row.get("id") or "").strip() or f"{path.name}:{line}",
        date=day.isoformat(),
        rules=rules or DEFAULT_EXCUSES,
        start=start.isoformat(timespec="seconds"),
        end=end.isoformat(timespec="seconds"),
        teacher=(row.get("teacher") or "").strip(),
        class_name=(row.get("class") or "").strip(),
        subject=(row.get("subject") or "").strip(),
    )
