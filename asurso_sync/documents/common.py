"""What every document needs: the school header, the period, the data's time, absence codes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from asurso_sync.documents.settings import ReportSettings
from asurso_sync.errors import ReportError

MONTHS = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
]
MONTHS_GEN = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
WEEKDAYS = ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"]
LIVE = "deleted_at IS NULL"


@dataclass(frozen=True)
class Period:
    """A date range a document covers, with its Russian label and the one before it (trends)."""

    kind: str  # month | term | week | year
    start: str
    end: str
    label: str
    slug: str
    term_id: int | None = None
    previous: Period | None = None

    def contains(self, day: str | None) -> bool:
        return day is not None and self.start <= day[:10] <= self.end


def rows(db: Database, sql: str, params: Any = ()) -> list[dict]:
    """Query rows as plain dicts."""
    return list(db.query(sql, params))


def fmt_date(day: str | None) -> str:
    """`2025-09-01` -> `01.09.2025` (empty for None)."""
    if not day:
        return ""
    y, m, d = day[:10].split("-")
    return f"{d}.{m}.{y}"


def short_date(day: str) -> str:
    return f"{day[8:10]}.{day[5:7]}"


def school(db: Database) -> dict:
    """The school card; a mirror without it still renders with a neutral name."""
    found = rows(db, f"SELECT * FROM schools WHERE {LIVE} ORDER BY id LIMIT 1")
    if found:
        s = found[0]
        return {
            "name": s["name"] or "",
            "full_name": s["full_name"] or s["name"] or "",
            "director": s["director"] or "",
            "principal_uvr": s["principal_uvr"] or "",
        }
    return {
        "name": "Образовательная организация",
        "full_name": "",
        "director": "",
        "principal_uvr": "",
    }


def year(db: Database) -> dict:
    found = rows(db, f"SELECT * FROM years WHERE {LIVE} ORDER BY start_date DESC LIMIT 1")
    if not found:
        raise ReportError("the mirror holds no school year: run `asurso-sync sync` first")
    y = found[0]
    return {
        "id": y["id"],
        "name": y["name"] or f"{y['start_date'][:4]}/{y['end_date'][:4]}",
        "start": y["start_date"][:10],
        "end": y["end_date"][:10],
    }


def data_as_of(db: Database, tz: str) -> str:
    """The finish time of the last successful sync in school-local time («14.11.2025 22:00»)."""
    found = rows(
        db,
        "SELECT finished_at FROM sync_runs WHERE finished_at IS NOT NULL "
        "AND coalesce(status, 'ok') IN ('ok', 'success', 'done', 'finished') "
        "ORDER BY finished_at DESC LIMIT 1",
    )
    if not found:
        return "нет сведений о синхронизации"
    when = dt.datetime.fromisoformat(found[0]["finished_at"])
    if when.tzinfo is not None:
        when = when.astimezone(ZoneInfo(tz))
    return when.strftime("%d.%m.%Y %H:%M")


def last_data_day(db: Database) -> str:
    """The latest lesson date in the mirror (the default month/week of the control reports)."""
    found = rows(db, f"SELECT max(date) AS d FROM lessons WHERE {LIVE}")
    if not found or not found[0]["d"]:
        raise ReportError("the mirror holds no lessons yet: run `asurso-sync sync` first")
    return found[0]["d"][:10]


def terms(db: Database) -> list[dict]:
    """The year's terms in date order; a term named «год» is the year mark, not a period."""
    out = rows(
        db, f"SELECT id, name, start_date, end_date FROM terms WHERE {LIVE} ORDER BY start_date, id"
    )
    for t in out:
        t["start"], t["end"] = t["start_date"][:10], t["end_date"][:10]
        t["is_year"] = "год" in (t["name"] or "").lower()
    return out


def month_period(value: str) -> Period:
    m = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ReportError(f"--month must look like 2025-10, not {value!r}")
    y, mo = int(m.group(1)), int(m.group(2))
    start = dt.date(y, mo, 1)
    nxt = dt.date(y + (mo == 12), mo % 12 + 1, 1)
    prev_start = (start - dt.timedelta(days=1)).replace(day=1)
    prev = Period(
        "month",
        prev_start.isoformat(),
        (start - dt.timedelta(days=1)).isoformat(),
        f"{MONTHS[prev_start.month - 1]} {prev_start.year} г.",
        prev_start.strftime("%Y-%m"),
    )
    return Period(
        "month",
        start.isoformat(),
        (nxt - dt.timedelta(days=1)).isoformat(),
        f"{MONTHS[mo - 1]} {y} г.",
        f"{y:04d}-{mo:02d}",
        previous=prev,
    )


def week_period(value: str) -> Period:
    m = re.fullmatch(r"(\d{4})-W(\d{2})", value or "")
    if not m:
        raise ReportError(f"--week must look like 2025-W42, not {value!r}")
    try:
        start = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise ReportError(f"there is no week {value}") from None
    end = start + dt.timedelta(days=6)
    label = f"неделя {value} ({fmt_date(start.isoformat())} – {fmt_date(end.isoformat())})"
    return Period("week", start.isoformat(), end.isoformat(), label, value)


def term_period(db: Database, number: int) -> Period:
    """The Nth period of the year (1-based, date order, the year mark excluded)."""
    periods = [t for t in terms(db) if not t["is_year"]]
    if not 1 <= number <= len(periods):
        raise ReportError(f"--term must be between 1 and {len(periods)}, not {number}")
    t = periods[number - 1]
    prev = None
    if number > 1:
        p = periods[number - 2]
        prev = Period("term", p["start"], p["end"], p["name"], f"term{number - 1}", p["id"])
    return Period(
        "term",
        t["start"],
        t["end"],
        f"{t['name']} {year(db)['name']} уч. г.",
        f"term{number}",
        t["id"],
        prev,
    )


def year_period(db: Database) -> Period:
    y = year(db)
    return Period(
        "year", y["start"], y["end"], f"{y['name']} учебный год", y["name"].replace("/", "-")
    )


def resolve_period(
    db: Database, *, month: str | None, term: int | None, week: str | None, default: str
) -> Period:
    """The period asked for, or the document's default (`month`/`week`: the latest data)."""
    if sum(x is not None for x in (month, term, week)) > 1:
        raise ReportError("give only one of --month, --term, --week")
    if month:
        return month_period(month)
    if term is not None:
        return term_period(db, int(term))
    if week:
        return week_period(week)
    if default == "month":
        return month_period(last_data_day(db)[:7])
    if default == "week":
        y, w, _ = dt.date.fromisoformat(last_data_day(db)).isocalendar()
        return week_period(f"{y:04d}-W{w:02d}")
    return year_period(db)


def classes(db: Database, class_name: str | None = None) -> list[dict]:
    """Classes in grade/letter order with their class teacher; `class_name` narrows to one."""
    found = rows(
        db,
        f"""
        SELECT c.id, c.name, c.grade, c.letter,
               (SELECT group_concat(t.name, ', ') FROM class_teachers ct
                  JOIN teachers t ON t.id = ct.teacher_id
                 WHERE ct.class_id = c.id AND ct.deleted_at IS NULL) AS class_teacher
          FROM classes c WHERE c.{LIVE}
         ORDER BY CAST(c.grade AS INTEGER), c.letter, c.name""",
    )
    for c in found:
        c["class_teacher"] = c["class_teacher"] or ""
    if class_name is None:
        return found
    wanted = [c for c in found if c["name"].lower() == class_name.strip().lower()]
    if not wanted:
        names = ", ".join(c["name"] for c in found) or "none"
        raise ReportError(f"no class {class_name!r} in the mirror (classes: {names})")
    return wanted


def teachers(db: Database, teacher: str | None = None) -> list[dict]:
    """Teachers by name; `teacher` narrows by a case-insensitive part of the name or the id."""
    found = rows(db, f"SELECT id, name FROM teachers WHERE {LIVE} ORDER BY name, id")
    if teacher is None:
        return found
    key = teacher.strip().lower()
    wanted = [t for t in found if str(t["id"]) == key or key in (t["name"] or "").lower()]
    if not wanted:
        raise ReportError(f"no teacher matching {teacher!r} in the mirror")
    return wanted


def students(db: Database, class_id: int) -> list[dict]:
    return rows(
        db,
        f"SELECT id, full_name FROM students WHERE class_id = ? AND {LIVE} ORDER BY full_name, id",
        [class_id],
    )


class Codes:
    """The school's absence codes sorted into what the documents count."""

    def __init__(self, settings: ReportSettings) -> None:
        c = settings.codes
        self.absent = set(c.get("Н", []))
        self.late = set(c.get("О", []))
        self.exempt = set(c.get("осв", []))
        self.show_illness = settings.show_illness

    def kind(self, code: str) -> str:
        """absent (reason not given) | late | exempt | illness | excused | unexcused | other."""
        code = (code or "").strip()
        if code in self.absent:
            return "absent"
        if code in self.late:
            return "late"
        if code in self.exempt:
            return "exempt"
        if code == "Б":
            return "illness" if self.show_illness else "excused"
        if code in ("УП", "ОТ/УП"):
            return "excused"
        if code == "НП":
            return "unexcused"
        return "other"

    def shown(self, code: str) -> str:
        """The code as printed: «Б» becomes «УП» unless show_illness is on."""
        code = (code or "").strip()
        if code == "Б" and not self.show_illness:
            return "УП"
        return code


def pct(part: int, whole: int) -> str:
    """A percentage with one decimal and a comma («66,7»); «—» when there is nothing to count."""
    if not whole:
        return "—"
    return f"{100.0 * part / whole:.1f}".replace(".", ",")


def header(db: Database, settings: ReportSettings, title: str, subtitle: str = "") -> dict:
    """The context every template's base layout needs."""
    from asurso_sync import __version__

    now = dt.datetime.now(ZoneInfo(settings.timezone))
    return {
        "school": school(db),
        "title": title,
        "subtitle": subtitle,
        "data_as_of": data_as_of(db, settings.timezone),
        "generated_at": now.strftime("%d.%m.%Y %H:%M"),
        "version": __version__,
    }


@dataclass(frozen=True)
class Request:
    """What the caller asked for; each document resolves its own default period."""

    month: str | None = None
    term: int | None = None
    week: str | None = None
    class_name: str | None = None
    teacher: str | None = None

    def period(self, db: Database, default: str) -> Period:
        return resolve_period(db, month=self.month, term=self.term, week=self.week, default=default)


def local_date(utc_iso: str | None, tz: str) -> str | None:
    """A bookkeeping UTC time as the school-local date (`YYYY-MM-DD`)."""
    if not utc_iso:
        return None
    when = dt.datetime.fromisoformat(utc_iso)
    if when.tzinfo is not None:
        when = when.astimezone(ZoneInfo(tz))
    return when.date().isoformat()


def class_slug(name: str) -> str:
    """A class name safe in a file name (`5а` stays `5а`; spaces and slashes go)."""
    return re.sub(r"[^\w-]+", "_", name).strip("_") or "class"
