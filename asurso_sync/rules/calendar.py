"""Deadline arithmetic the SQL cannot say: school days that skip weekends, public holidays (the
Russian production calendar of the `holidays` package, with the government's transfers) and the
mirror's vacations.

Deadlines are computed here once per check for every date of the year and handed to SQL as a
temp table `rules_deadline(n, d, deadline_date, deadline_at)`: the rule queries join on it, so
each rule stays one query however the days are counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import holidays
from sqlite_utils import Database

from asurso_sync.rules.settings import RuleSettings


def production_calendar(years: Iterable[int], week: int = 5) -> tuple[set[dt.date], set[dt.date]]:
    """(days off, working weekend days) of the Russian production calendar for `years`.

    A five-day week takes the holidays and the government's transfers (a Saturday made a working
    day, a weekday made a day off); a six-day week takes the holidays and their moves off a
    Sunday only (the transfers are for the five-day week).
    """
    calendar = holidays.country_holidays("RU", years=sorted(set(years)), language="en_US")
    if week == 5:
        return set(calendar), set(calendar.weekend_workdays)
    return {day for day, name in calendar.items() if "substituted" not in name}, set()


class SchoolCalendar:
    """Day counting per `[rules] day_kind`: calendar days, or school days (the `week`'s days,
    minus public holidays and vacations, plus the transferred working Saturdays)."""

    def __init__(
        self,
        settings: RuleSettings,
        vacations: Iterable[tuple[str, str]] = (),
        years: Iterable[int] = (),
    ) -> None:
        self.settings = settings
        self.off: set[dt.date] = set()
        self.holidays, self.workdays = production_calendar(years, settings.week)
        for start, end in vacations:
            if not start or not end:
                continue
            day, last = dt.date.fromisoformat(start[:10]), dt.date.fromisoformat(end[:10])
            while day <= last:
                self.off.add(day)
                day += dt.timedelta(days=1)

    @classmethod
    def from_mirror(cls, db: Database, settings: RuleSettings) -> SchoolCalendar:
        rows = db.execute(
            "SELECT start_date, end_date FROM vacations WHERE deleted_at IS NULL"
        ).fetchall()
        years: set[int] = set()
        for start, end in db.execute(
            "SELECT start_date, end_date FROM years WHERE deleted_at IS NULL"
        ).fetchall():
            if start and end:
                years.update(range(int(start[:4]), int(end[:4]) + 1))
        return cls(settings, rows, years)

    def is_school_day(self, day: dt.date) -> bool:
        if day in self.off:
            return False
        if day in self.workdays:
            return True
        return day.weekday() < self.settings.week and day not in self.holidays

    def shift(self, day: dt.date, n: int) -> dt.date:
        """`day` plus n days (minus when n < 0), counted per `day_kind`."""
        if self.settings.day_kind == "calendar" or n == 0:
            return day + dt.timedelta(days=n)
        step = dt.timedelta(days=1 if n > 0 else -1)
        left = abs(n)
        while left:
            day += step
            if self.is_school_day(day):
                left -= 1
        return day

    def deadline_at(self, deadline_date: dt.date) -> str:
        """The end of the deadline day (`deadline_time` + `grace_hours`), naive school-local ISO."""
        moment = dt.datetime.combine(
            deadline_date, dt.time.fromisoformat(self.settings.deadline_time)
        )
        moment += dt.timedelta(hours=self.settings.grace_hours)
        return moment.isoformat(timespec="seconds")


def date_span(db: Database, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """First and last date any rule measures from (lessons, terms), padded a little."""
    row = db.execute(
        "SELECT MIN(d), MAX(d) FROM (SELECT MIN(date) d FROM lessons UNION ALL "
        "SELECT MAX(date) FROM lessons UNION ALL SELECT MIN(start_date) FROM terms UNION ALL "
        "SELECT MAX(end_date) FROM terms)"
    ).fetchone()
    first = dt.date.fromisoformat(row[0][:10]) if row and row[0] else as_of
    last = dt.date.fromisoformat(row[1][:10]) if row and row[1] else as_of
    return min(first, as_of) - dt.timedelta(days=7), max(last, as_of) + dt.timedelta(days=7)


def install_deadlines(
    db: Database, cal: SchoolCalendar, ns: Iterable[int], span: tuple[dt.date, dt.date]
) -> None:
    """(Re)fill temp table rules_deadline for every date in span and every day count in ns."""
    db.execute("DROP TABLE IF EXISTS temp.rules_deadline")
    db.execute(
        "CREATE TEMP TABLE rules_deadline (n INTEGER, d TEXT, deadline_date TEXT, "
        "deadline_at TEXT, PRIMARY KEY (n, d))"
    )
    rows = []
    for n in sorted(set(ns)):
        day = span[0]
        while day <= span[1]:
            due = cal.shift(day, n)
            rows.append((n, day.isoformat(), due.isoformat(), cal.deadline_at(due)))
            day += dt.timedelta(days=1)
    db.conn.executemany("INSERT INTO temp.rules_deadline VALUES (?, ?, ?, ?)", rows)
