"""What every document needs: the school header, the period, the data's time, absence codes."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from asurso_sync import __version__
from asurso_sync.documents.settings import ReportSettings
from asurso_sync.errors import ReportError

MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
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
WEEKDAYS = ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"]
LIVE = "deleted_at IS NULL"


@dataclass(frozen=True)
class Period:
    """A date range a document covers, with its Russian label and the one before it (trends).

    `name` says it in English for the command line («November 2026»); `reason` says why this
    period was chosen when nobody asked for one («the last complete month»)."""

    kind: str  # month | term | week | year
    start: str
    end: str
    label: str
    slug: str
    term_id: int | None = None
    previous: Period | None = None
    name: str = ""
    reason: str = ""

    @property
    def days(self) -> str:
        """«30.11–06.12.2026»: the period's first and last day (D3 prints «за неделю …»)."""
        return span(self.start, self.end)

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


def last_sync(db: Database) -> dt.datetime | None:
    """When the last successful sync finished (as stored: UTC with its offset)."""
    found = rows(
        db,
        "SELECT finished_at FROM sync_runs WHERE finished_at IS NOT NULL "
        "AND coalesce(status, 'ok') IN ('ok', 'success', 'done', 'finished') "
        "ORDER BY finished_at DESC LIMIT 1",
    )
    if not found:
        return None
    return dt.datetime.fromisoformat(found[0]["finished_at"])


def local_time(when: dt.datetime, tz: str) -> dt.datetime:
    """A stored time in the school's zone (`[sync] timezone`); naive times are taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(ZoneInfo(tz))


def ru_datetime(when: dt.datetime) -> str:
    """`02.12.2026 02:16`: how every document prints a moment."""
    return when.strftime("%d.%m.%Y %H:%M")


def data_as_of(db: Database, tz: str) -> str:
    """The finish time of the last successful sync in school-local time («14.11.2025 22:00»)."""
    when = last_sync(db)
    if when is None:
        return "нет сведений о синхронизации"
    return ru_datetime(local_time(when, tz))


def as_of_day(db: Database, tz: str) -> dt.date:
    """The school-local day the mirror's data are as of: the last successful sync's day, or,
    without one, the day after the latest lesson."""
    when = last_sync(db)
    if when is not None:
        return local_time(when, tz).date()
    return dt.date.fromisoformat(last_data_day(db)) + dt.timedelta(days=1)


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


def period_of_slug(db: Database, slug: str) -> Period | None:
    """The period a slug names (`2026-11`, `2026-W48`, `term2`, as file names and issued lists
    keep it), or None for a slug that names none of this mirror's periods."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}", slug):
            return month_period(slug)
        if re.fullmatch(r"\d{4}-W\d{2}", slug):
            return week_period(slug)
        if m := re.fullmatch(r"term(\d+)", slug):
            return term_period(db, int(m.group(1)))
    except ReportError:
        return None
    return None


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
        name=f"{MONTHS_EN[prev_start.month - 1]} {prev_start.year}",
    )
    return Period(
        "month",
        start.isoformat(),
        (nxt - dt.timedelta(days=1)).isoformat(),
        f"{MONTHS[mo - 1]} {y} г.",
        f"{y:04d}-{mo:02d}",
        previous=prev,
        name=f"{MONTHS_EN[mo - 1]} {y}",
    )


def span(start: str, end: str) -> str:
    """«30.11–06.12.2026» (the year once when both days share it)."""
    if start[:4] == end[:4]:
        return f"{short_date(start)}–{fmt_date(end)}"
    return f"{fmt_date(start)}–{fmt_date(end)}"


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
    days = span(start.isoformat(), end.isoformat())
    return Period("week", start.isoformat(), end.isoformat(), label, value, name=f"the week {days}")


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
        name=f"term {number} ({t['name']}, {span(t['start'], t['end'])})",
    )


def year_period(db: Database) -> Period:
    y = year(db)
    return Period(
        "year",
        y["start"],
        y["end"],
        f"{y['name']} учебный год",
        y["name"].replace("/", "-"),
        name=f"the year {y['name']}",
    )


def _reference_day(db: Database, tz: str) -> dt.date:
    """The data's day, but never after the day after the year's end (a summer sync)."""
    y = year(db)
    after_year = dt.date.fromisoformat(y["end"]) + dt.timedelta(days=1)
    return min(as_of_day(db, tz), after_year)


def last_complete_month(db: Database, tz: str) -> Period:
    """The latest month that ended before the data's day (the current one early in the year)."""
    ref = _reference_day(db, tz)
    last_end = ref.replace(day=1) - dt.timedelta(days=1)
    if last_end.isoformat() < year(db)["start"]:
        return replace(month_period(ref.strftime("%Y-%m")), reason="the current month, not over")
    return replace(month_period(last_end.strftime("%Y-%m")), reason="the last complete month")


def last_complete_week(db: Database, tz: str) -> Period:
    """The latest ISO week that ended before the data's day (the current one in week one)."""
    ref = _reference_day(db, tz)
    sunday = ref - dt.timedelta(days=ref.weekday() + 1)
    day, reason = sunday, "the last complete week"
    if sunday.isoformat() < year(db)["start"]:
        day, reason = ref, "the current week, not over"
    y, w, _ = day.isocalendar()
    return replace(week_period(f"{y:04d}-W{w:02d}"), reason=reason)


def last_complete_term(db: Database, tz: str) -> Period:
    """The latest term that ended before the data's day (the first one while it runs)."""
    ref = _reference_day(db, tz).isoformat()
    periods = [t for t in terms(db) if not t["is_year"]]
    if not periods:
        return replace(year_period(db), reason="the year: the mirror holds no terms")
    ended = [n for n, t in enumerate(periods, 1) if t["end"] < ref]
    if ended:
        return replace(term_period(db, ended[-1]), reason="the last complete term")
    return replace(term_period(db, 1), reason="the current term, not over")


def within_year(db: Database, period: Period) -> Period:
    """The period, or a ReportError when it lies wholly outside the mirrored year."""
    y = year(db)
    if period.end < y["start"] or period.start > y["end"]:
        raise ReportError(
            f"no data for {period.slug}: the mirror holds {y['name']} "
            f"({fmt_date(y['start'])}–{fmt_date(y['end'])})"
        )
    return period


def resolve_period(
    db: Database,
    *,
    month: str | None,
    term: int | None,
    week: str | None,
    default: str,
    tz: str = "Europe/Samara",
) -> Period:
    """The period asked for, or the document's default: the last complete month, week or
    term (`default` = month | week | term | year)."""
    if sum(x is not None for x in (month, term, week)) > 1:
        raise ReportError("give only one of --month, --term, --week")
    if month:
        return within_year(db, month_period(month))
    if term is not None:
        return term_period(db, int(term))
    if week:
        return within_year(db, week_period(week))
    if default == "month":
        return last_complete_month(db, tz)
    if default == "week":
        return last_complete_week(db, tz)
    if default == "term":
        return last_complete_term(db, tz)
    return replace(year_period(db), reason="the school year")


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


def header(
    db: Database,
    settings: ReportSettings,
    title: str,
    subtitle: str = "",
    now: dt.datetime | None = None,
) -> dict:
    """The context every template's base layout needs (every time school-local)."""
    moment = local_time(now or dt.datetime.now(dt.UTC), settings.timezone)
    return {
        "school": school(db),
        "title": title,
        "subtitle": subtitle,
        "data_as_of": data_as_of(db, settings.timezone),
        "generated_at": ru_datetime(moment),
        "today": moment.date().isoformat(),
        "version": __version__,
    }


@dataclass(frozen=True)
class Request:
    """What the caller asked for; each document resolves its own default period. `now` is the
    moment of issue (tests and the demo fix it; default: the clock)."""

    month: str | None = None
    term: int | None = None
    week: str | None = None
    class_name: str | None = None
    teacher: str | None = None
    now: dt.datetime | None = None
    tz: str = "Europe/Samara"  # [sync] timezone: the school's clock

    def period(self, db: Database, default: str) -> Period:
        return resolve_period(
            db, month=self.month, term=self.term, week=self.week, default=default, tz=self.tz
        )


def local_date(utc_iso: str | None, tz: str) -> str | None:
    """A stored time as the school-local date (`YYYY-MM-DD`); a naive value (the checks'
    as-of dates) is school-local already."""
    if not utc_iso:
        return None
    when = dt.datetime.fromisoformat(utc_iso)
    if when.tzinfo is None:
        return when.date().isoformat()
    return local_time(when, tz).date().isoformat()


FORBIDDEN_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f]+')
RESERVED_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{n}" for n in range(1, 10)]
    + [f"LPT{n}" for n in range(1, 10)]
)


def safe_name(text: str, limit: int = 150) -> str:
    """A file name (without extension) that Windows and Linux both accept, Cyrillic kept:
    no `<>:"/\\|?*` or control characters, spaces as `_`, no trailing dots or spaces, never a
    reserved device name (CON, PRN, AUX, NUL, COM1–9, LPT1–9)."""
    text = FORBIDDEN_CHARS.sub("_", text or "")
    text = re.sub(r"\s+", "_", text.strip())
    text = re.sub(r"_+", "_", text)[:limit].strip("_").rstrip(". ")
    if not text:
        return "_"
    if text.split(".")[0].upper() in RESERVED_NAMES:
        text = "_" + text
    return text


def person_slug(full_name: str | None) -> str:
    """«Петрова Мария Ивановна» -> «Петрова_МИ»: surname and initials, safe in a file name."""
    parts = (full_name or "").split()
    if not parts:
        return ""
    return safe_name(parts[0] + "_" + "".join(p[0] for p in parts[1:3]))


def unique_slugs(items: list[tuple[int, str]], prefix: str) -> dict[int, str]:
    """{id: slug}, with `_<prefix><id>` added only where two ids would share a slug."""
    seen: dict[str, int] = {}
    for _, slug in items:
        seen[slug] = seen.get(slug, 0) + 1
    return {
        key: slug if seen[slug] == 1 and slug else f"{slug}_{prefix}{key}".lstrip("_")
        for key, slug in items
    }


def class_slug(name: str) -> str:
    """A class name safe in a file name (`5а` stays `5а`; spaces and slashes go)."""
    return safe_name(name) if name.strip() else "class"


KES_NOTICE = "КЭС в КТП не проверялись: портал не передаёт их в планировании уроков (п. 7.4)."


def kes_notice(db: Database) -> str:
    """D1/D2's line when the last check could not check КЭС in the КТП (R17's notice), or «»."""
    if not db.table("check_runs").exists() or "notices" not in db.table("check_runs").columns_dict:
        return ""
    last = db.execute("SELECT notices FROM check_runs ORDER BY id DESC LIMIT 1").fetchone()
    notices = json.loads(last[0]) if last and last[0] else []
    said = any(n.get("rule") == "R17" and "КЭС" in n.get("text", "") for n in notices)
    return KES_NOTICE if said else ""
