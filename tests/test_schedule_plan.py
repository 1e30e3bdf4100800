"""The job table with a fake clock: triggers in Europe/Samara, catch-up decisions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from asurso_sync.config import parse_config
from asurso_sync.errors import ConfigError
from asurso_sync.schedule import Scheduler
from asurso_sync.schedule.jobs import ended_term_number, previous_month, previous_week
from asurso_sync.schedule.plan import (
    DatesTrigger,
    build_triggers,
    due_jobs,
    fire_times,
    next_fire_time,
)
from asurso_sync.schedule.settings import ScheduleSettings, parse_schedule_settings

SAMARA = ZoneInfo("Europe/Samara")


def samara(*args) -> datetime:
    return datetime(*args, tzinfo=SAMARA)


TERM_ENDS = [date(2025, 10, 24), date(2025, 12, 26), date(2026, 3, 20), date(2026, 5, 26)]


@pytest.fixture
def triggers():
    return build_triggers(ScheduleSettings(), TERM_ENDS)


def test_every_trigger_is_in_the_school_zone_not_the_host_zone(triggers, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    assert set(triggers) == {
        "nightly",
        "weekly-report",
        "monthly-report",
        "term-report",
        "fixity-fast",
        "fixity-full",
    }
    for name, trigger in triggers.items():
        if isinstance(trigger, CronTrigger):
            assert trigger.timezone == SAMARA, name
        else:
            assert {t.tzinfo for t in trigger.times} == {SAMARA}


def test_next_fire_times_at_local_wall_clock(triggers):
    # Sunday 2025-11-30 21:00 UTC = Monday 2025-12-01 01:00 in Samara (UTC+4)
    now = datetime(2025, 11, 30, 21, 0, tzinfo=UTC)
    got = {name: next_fire_time(t, now) for name, t in triggers.items()}
    assert got == {
        "nightly": samara(2025, 12, 1, 2, 30),
        "weekly-report": samara(2025, 12, 1, 7, 0),
        "monthly-report": samara(2025, 12, 1, 7, 30),
        "term-report": samara(2025, 12, 27, 8, 0),
        "fixity-fast": samara(2025, 12, 7, 3, 30),
        "fixity-full": samara(2025, 12, 7, 4, 0),
    }
    # the nightly slot is 22:30 UTC, not 02:30 UTC
    assert got["nightly"].astimezone(UTC) == datetime(2025, 11, 30, 22, 30, tzinfo=UTC)


def test_configured_times_and_zone(monkeypatch):
    settings = parse_schedule_settings(
        {
            "timezone": "Asia/Yekaterinburg",
            "nightly_time": "23:05",
            "weekly_day": "fri",
            "monthly_day": 5,
            "disabled": ["fixity-full"],
        }
    )
    triggers = build_triggers(settings)
    now = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    yekt = ZoneInfo("Asia/Yekaterinburg")
    assert next_fire_time(triggers["nightly"], now) == datetime(2026, 1, 1, 23, 5, tzinfo=yekt)
    assert next_fire_time(triggers["weekly-report"], now) == datetime(2026, 1, 2, 7, 0, tzinfo=yekt)
    assert next_fire_time(triggers["monthly-report"], now) == datetime(
        2026, 1, 5, 7, 30, tzinfo=yekt
    )
    assert "fixity-full" not in triggers
    # no future term known: the term job has no next run (and no past one fires by itself)
    assert next_fire_time(triggers["term-report"], now) is None


def test_schedule_timezone_defaults_to_the_sync_zone():
    config = parse_config({"sync": {"timezone": "Europe/Moscow"}})
    assert Scheduler(config).settings.timezone == "Europe/Moscow"
    assert parse_schedule_settings({}).timezone == "Europe/Samara"


@pytest.mark.parametrize(
    "table, message",
    [
        ({"nightly_time": "2:30"}, "nightly_time must be HH:MM"),
        ({"weekly_day": "monday"}, "weekly_day must be one of mon"),
        ({"timezone": "Mars/Olympus"}, "not a known time zone"),
        ({"monthly_day": 31}, "monthly_day must be between 1 and 28"),
        ({"disabled": ["nightly-sync"]}, "unknown job(s) nightly-sync"),
        ({"catch_up": "yes"}, "catch_up must be true or false"),
        ({"nightly": "02:30"}, "unknown key(s): nightly"),
        ({"report_format": "docx"}, "report_format must be html or pdf"),
    ],
)
def test_settings_errors(table, message):
    with pytest.raises(ConfigError) as info:
        parse_schedule_settings(table)
    assert message in str(info.value)


def test_fire_times_over_a_week(triggers):
    after = samara(2025, 11, 24, 0, 0)
    until = samara(2025, 12, 1, 8, 0)
    assert list(fire_times(triggers["nightly"], after, until)) == [
        samara(2025, 11, d, 2, 30) for d in range(24, 31)
    ] + [samara(2025, 12, 1, 2, 30)]
    assert list(fire_times(triggers["weekly-report"], after, until)) == [
        samara(2025, 11, 24, 7, 0),
        samara(2025, 12, 1, 7, 0),
    ]


def test_missed_nights_are_caught_up_once_with_the_latest_slot(triggers):
    last = {
        "nightly": samara(2025, 11, 26, 2, 30),
        "weekly-report": samara(2025, 11, 24, 7, 0),
        "monthly-report": samara(2025, 11, 1, 7, 30),
        "term-report": samara(2025, 10, 25, 8, 0),
        "fixity-fast": samara(2025, 11, 23, 3, 30),
        "fixity-full": samara(2025, 11, 23, 4, 0),
    }
    # the server was off from Wednesday night to Saturday 10:00
    now = samara(2025, 11, 29, 10, 0)
    assert due_jobs(now, last, triggers) == [("nightly", samara(2025, 11, 29, 2, 30))]
    # after that run, nothing is due any more at the same moment
    last["nightly"] = samara(2025, 11, 29, 2, 30)
    assert due_jobs(now, last, triggers) == []
    # before the night's slot passes, nothing either
    last["nightly"] = samara(2025, 11, 28, 2, 30)
    assert due_jobs(samara(2025, 11, 29, 2, 29), last, triggers) == []


def test_long_downtime_catches_every_job_up_once_in_table_order(triggers):
    last = {
        "nightly": samara(2025, 12, 20, 2, 30),
        "weekly-report": samara(2025, 12, 15, 7, 0),
        "monthly-report": samara(2025, 12, 1, 7, 30),
        "term-report": samara(2025, 10, 25, 8, 0),
        "fixity-fast": samara(2025, 12, 14, 3, 30),
        "fixity-full": samara(2025, 12, 14, 4, 0),
    }
    now = samara(2026, 1, 12, 9, 0)  # back after the winter holidays
    assert due_jobs(now, last, triggers) == [
        ("nightly", samara(2026, 1, 12, 2, 30)),
        ("weekly-report", samara(2026, 1, 12, 7, 0)),
        ("monthly-report", samara(2026, 1, 1, 7, 30)),
        ("term-report", samara(2025, 12, 27, 8, 0)),
        ("fixity-fast", samara(2026, 1, 11, 3, 30)),
        ("fixity-full", samara(2026, 1, 11, 4, 0)),
    ]


def test_a_job_never_run_counts_from_the_first_start_and_nothing_without_it(triggers):
    now = samara(2025, 12, 3, 12, 0)
    assert due_jobs(now, {}, triggers) == []
    assert due_jobs(now, {}, triggers, since=samara(2025, 12, 2, 12, 0)) == [
        ("nightly", samara(2025, 12, 3, 2, 30))
    ]


def test_dates_trigger_follows_the_cron_contract():
    t = DatesTrigger([samara(2026, 1, 1, 8, 0), samara(2025, 12, 27, 8, 0)])
    assert t.get_next_fire_time(None, samara(2025, 12, 1)) == samara(2025, 12, 27, 8, 0)
    # after a fire, the next is the following date even if "now" is later (misfire path)
    assert t.get_next_fire_time(samara(2025, 12, 27, 8, 0), samara(2026, 2, 1)) == samara(
        2026, 1, 1, 8, 0
    )
    assert t.get_next_fire_time(samara(2026, 1, 1, 8, 0), samara(2026, 2, 1)) is None


def test_apscheduler_is_built_with_grace_coalesce_and_fixed_ids(tmp_path):
    config = parse_config(
        {"mirror": {"path": str(tmp_path / "m.db")}, "schedule": {"misfire_grace_s": 7200}}
    )
    sched = Scheduler(config).build(BackgroundScheduler)
    sched.start(paused=True)  # applies the job defaults without ever running a job
    try:
        jobs = {j.id: j for j in sched.get_jobs()}
    finally:
        sched.shutdown(wait=False)
    assert sorted(jobs) == [
        "fixity-fast",
        "fixity-full",
        "monthly-report",
        "nightly",
        "term-report",
        "weekly-report",
    ]
    assert sched.timezone == SAMARA
    for job in jobs.values():
        assert (job.misfire_grace_time, job.coalesce, job.max_instances) == (7200, True, 1)
    assert jobs["nightly"].trigger.timezone == SAMARA
    nightly = jobs["nightly"].next_run_time
    assert (nightly.tzinfo, nightly.hour, nightly.minute) == (SAMARA, 2, 30)
    assert jobs["term-report"].next_run_time is None  # empty mirror: no term known yet
    assert str(jobs["weekly-report"].trigger) == (
        "cron[day_of_week='mon', hour='7', minute='0', second='0']"
    )


def test_report_periods_come_from_the_slot():
    assert previous_week(date(2025, 12, 1)) == "2025-W48"  # Mon 1 Dec -> 24–30 Nov
    assert previous_week(date(2026, 1, 5)) == "2026-W01"  # ISO week 1 of 2026 starts 29 Dec
    assert previous_month(date(2026, 1, 1)) == "2025-12"
    assert previous_month(date(2025, 10, 1)) == "2025-09"
    terms = [
        {"end_date": "2025-10-24", "is_year": False},
        {"end_date": "2025-12-26", "is_year": False},
        {"end_date": "2026-05-26", "is_year": True},
        {"end_date": "2026-03-20", "is_year": False},
    ]
    terms.sort(key=lambda t: t["end_date"])
    assert ended_term_number(terms, date(2025, 12, 27)) == 2
    assert ended_term_number(terms, date(2025, 10, 25)) == 1
    assert ended_term_number(terms, date(2025, 10, 24)) is None
    assert ended_term_number(terms, date(2026, 5, 27)) == 3
    assert timedelta(0) == samara(2025, 1, 1).utcoffset() - timedelta(hours=4)
