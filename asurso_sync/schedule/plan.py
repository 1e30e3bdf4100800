"""The job table as plain functions: triggers in the school's zone and the catch-up plan.

Nothing here touches a clock or a database: callers pass `now`, the last runs and the term end
dates, so tests drive every decision with a fake clock.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from asurso_sync.schedule.settings import JOB_NAMES, ScheduleSettings

_TICK = timedelta(microseconds=1)


class DatesTrigger(BaseTrigger):
    """Fires at each of a fixed list of aware datetimes (the days after the terms end)."""

    __slots__ = ("times",)

    def __init__(self, times: Iterable[datetime]) -> None:
        self.times = sorted(set(times))

    def get_next_fire_time(self, previous_fire_time, now):
        """Same contract as CronTrigger: the first time at or after min(now, previous + 1 µs)."""
        start = now if previous_fire_time is None else min(now, previous_fire_time + _TICK)
        i = bisect.bisect_left(self.times, start)
        return self.times[i] if i < len(self.times) else None

    def __str__(self) -> str:
        return "dates[" + ", ".join(t.isoformat() for t in self.times) + "]"


def term_report_times(term_ends: Iterable[date], settings: ScheduleSettings) -> list[datetime]:
    """The day after each term's last day, at `term_report_time`, school-local."""
    hh, mm = settings.hour_minute("term_report_time")
    return sorted(
        {
            datetime.combine(end + timedelta(days=1), time(hh, mm), tzinfo=settings.tz)
            for end in term_ends
        }
    )


def build_triggers(
    settings: ScheduleSettings, term_ends: Iterable[date] = ()
) -> dict[str, BaseTrigger]:
    """One trigger per enabled job, every one built with the school's zone (never the host's)."""
    tz = settings.tz

    def cron(key: str, **fields) -> CronTrigger:
        hh, mm = settings.hour_minute(key)
        return CronTrigger(hour=hh, minute=mm, second=0, timezone=tz, **fields)

    triggers: dict[str, BaseTrigger] = {
        "nightly": cron("nightly_time"),
        "weekly-report": cron("weekly_time", day_of_week=settings.weekly_day),
        "monthly-report": cron("monthly_time", day=settings.monthly_day),
        "term-report": DatesTrigger(term_report_times(term_ends, settings)),
        "fixity-fast": cron("fixity_fast_time", day_of_week=settings.fixity_day),
        "fixity-full": cron("fixity_full_time", day_of_week=settings.fixity_day),
    }
    return {name: t for name, t in triggers.items() if settings.enabled(name)}


def fire_times(trigger: BaseTrigger, after: datetime, until: datetime) -> Iterator[datetime]:
    """Every fire time t with after < t <= until, in order."""
    t = trigger.get_next_fire_time(None, after + _TICK)
    while t is not None and t <= until:
        yield t
        t = trigger.get_next_fire_time(t, t + _TICK)


def last_fire_time(trigger: BaseTrigger, after: datetime, until: datetime) -> datetime | None:
    """The latest fire time in (after, until], or None when the trigger did not fire."""
    last = None
    for last in fire_times(trigger, after, until):  # noqa: B007
        pass
    return last


def next_fire_time(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The first fire time strictly after `now`."""
    return trigger.get_next_fire_time(None, now + _TICK)


def due_jobs(
    now: datetime,
    last_runs: Mapping[str, datetime | None],
    triggers: Mapping[str, BaseTrigger],
    *,
    since: datetime | None = None,
) -> list[tuple[str, datetime]]:
    """The jobs to catch up at `now`: each whose latest slot passed after its last run, ONCE.

    `last_runs[job]` is the `scheduled_for` of the job's last recorded run (or another proof
    that the work was done, e.g. a successful sync); a job never run counts from `since` (when
    the scheduler was first started), and nothing is due without either. Several missed slots
    of one job collapse into the latest one (coalesce). Order: the job table's order, so the
    nightly sync comes before the reports that read it.
    """
    due = []
    for name in JOB_NAMES:
        trigger = triggers.get(name)
        if trigger is None:
            continue
        after = last_runs.get(name) or since
        if after is None:
            continue
        slot = last_fire_time(trigger, after, now)
        if slot is not None:
            due.append((name, slot))
    return due
