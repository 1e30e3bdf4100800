"""The school year as the simulator serves it: quarters, vacations, holidays, study days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

D = dt.date
DAY = dt.timedelta(days=1)

# Lesson bells: number -> start time; lessons last 40 minutes.
BELLS = {
    1: (8, 0),
    2: (8, 50),
    3: (9, 45),
    4: (10, 45),
    5: (11, 40),
    6: (12, 35),
    7: (13, 30),
    8: (14, 20),
}
LESSON_MINUTES = 40


@dataclass(frozen=True, slots=True)
class Period:
    id: int
    name: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True, slots=True)
class YearCalendar:
    year_start: int
    year_id: int
    name: str
    start: dt.date
    end: dt.date
    terms: tuple[Period, ...]
    vacations: tuple[Period, ...]
    holidays: frozenset[dt.date]

    def term_at(self, day: dt.date) -> Period:
        """The term `day` falls in (a day of the generator's own timetable always does)."""
        term = self.term_of(day)
        if term is None:
            raise ValueError(f"{day} is in no term")
        return term

    def term_of(self, day: dt.date) -> Period | None:
        for term in self.terms:
            if term.start <= day <= term.end:
                return term
        return None

    def is_study_day(self, day: dt.date) -> bool:
        """A weekday inside a quarter that is no public holiday (5-day week)."""
        return day.weekday() < 5 and day not in self.holidays and self.term_of(day) is not None

    def study_days(self) -> list[dt.date]:
        days, day = [], self.terms[0].start
        while day <= self.terms[-1].end:
            if self.is_study_day(day):
                days.append(day)
            day += DAY
        return days


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _observed(day: dt.date) -> dt.date:
    """A public holiday on a weekend moves to the next Monday."""
    while day.weekday() >= 5:
        day += DAY
    return day


def school_year_of(today: dt.date) -> int:
    """The year_start of the school year containing `today` (1 Sep starts a year)."""
    return today.year if today.month >= 9 else today.year - 1


def build_calendar(year_start: int) -> YearCalendar:
    """Quarters and the usual Russian vacations (autumn ≈27 Oct–4 Nov, winter ≈29 Dec–11 Jan,
    spring ≈23–31 Mar, summer from 26 May), computed for `year_start`."""
    y = year_start
    autumn_start = _monday(D(y, 10, 27))
    autumn = (autumn_start, autumn_start + 8 * DAY)
    winter = (_monday(D(y, 12, 29)), D(y + 1, 1, 11))
    spring_start = _monday(D(y + 1, 3, 23))
    spring = (spring_start, spring_start + 8 * DAY)
    summer = (D(y + 1, 5, 26), D(y + 1, 8, 31))
    term_base = 26900 + (y - 2025) * 10
    bounds = [
        (D(y, 9, 1), autumn[0] - DAY),
        (autumn[1] + DAY, winter[0] - DAY),
        (winter[1] + DAY, spring[0] - DAY),
        (spring[1] + DAY, summer[0] - DAY),
    ]
    terms = tuple(
        Period(term_base + i + 1, f"{i + 1} четверть", start, end)
        for i, (start, end) in enumerate(bounds)
    )
    names = ("Осенние каникулы", "Зимние каникулы", "Весенние каникулы", "Летние каникулы")
    vacations = tuple(
        Period(800 + (y - 2000) * 10 + i + 1, name, start, end)
        for i, (name, (start, end)) in enumerate(
            zip(names, (autumn, winter, spring, summer), strict=True)
        )
    )
    holidays = frozenset(
        {
            D(y, 11, 4),
            _observed(D(y + 1, 2, 23)),
            _observed(D(y + 1, 3, 8)),
            D(y + 1, 5, 1),
            _observed(D(y + 1, 5, 9)),
        }
    )
    return YearCalendar(
        year_start=y,
        year_id=100 + (y - 2000),
        name=f"{y}/{y + 1}",
        start=D(y, 9, 1),
        end=D(y + 1, 8, 31),
        terms=terms,
        vacations=vacations,
        holidays=holidays,
    )
