"""Running the job table over a real mirror file with a fake clock and recorded outcomes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner

from asurso_sync.cli import cli
from asurso_sync.config import load_config
from asurso_sync.errors import SyncLocked
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.lock import SyncLock
from asurso_sync.schedule import JobsFailed, Scheduler, next_job_line
from asurso_sync.schedule.runs import iso

SAMARA = ZoneInfo("Europe/Samara")


def samara(*args) -> datetime:
    return datetime(*args, tzinfo=SAMARA)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """Fake jobs: record (job, slot) calls; jobs named in `failing` raise."""

    def __init__(self, failing=()):
        self.calls = []
        self.failing = set(failing)

    def jobs(self):
        def make(name):
            def job(ctx, slot):
                self.calls.append((name, slot))
                if name in self.failing:
                    raise RuntimeError(f"{name} broke: password=hunter2")
                return "fine"

            return job

        return {
            n: make(n)
            for n in (
                "nightly",
                "weekly-report",
                "monthly-report",
                "term-report",
                "fixity-fast",
                "fixity-full",
            )
        }


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "asurso-sync.toml"
    path.write_text('[mirror]\npath = "m.db"\n[schedule]\nreports_dir = "out"\n', encoding="utf-8")
    return load_config(path)


def job_rows(config):
    db = open_mirror(config.mirror_path)
    try:
        return [
            {k: r[k] for k in ("job", "scheduled_for", "status", "error")}
            for r in db.query("SELECT * FROM job_runs ORDER BY id")
        ]
    finally:
        db.close()


def test_first_start_sets_the_baseline_then_a_missed_night_runs_exactly_once(config):
    clock = Clock(samara(2025, 11, 26, 12, 0))  # Wednesday
    rec = Recorder()
    Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    assert rec.calls == []  # nothing is "missed" before the first start
    # stopped until Friday 09:00: two nights missed, one run
    clock.now = samara(2025, 11, 28, 9, 0)
    done = Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    assert rec.calls == [("nightly", samara(2025, 11, 28, 2, 30))]
    assert [(r["job"], r["status"]) for r in done] == [("nightly", "ok")]
    # a restart a minute later does not run it again
    clock.now = samara(2025, 11, 28, 9, 1)
    Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    assert len(rec.calls) == 1
    assert job_rows(config) == [
        {
            "job": "scheduler",
            "scheduled_for": "2025-11-26T08:00:00+00:00",
            "status": "started",
            "error": None,
        },
        {
            "job": "scheduler",
            "scheduled_for": "2025-11-28T05:00:00+00:00",
            "status": "started",
            "error": None,
        },
        {
            "job": "nightly",
            "scheduled_for": "2025-11-27T22:30:00+00:00",
            "status": "ok",
            "error": None,
        },
        {
            "job": "scheduler",
            "scheduled_for": "2025-11-28T05:01:00+00:00",
            "status": "started",
            "error": None,
        },
    ]


def test_a_failing_job_is_recorded_and_the_next_jobs_still_run(config):
    clock = Clock(samara(2025, 11, 23, 12, 0))  # Sunday noon
    rec = Recorder(failing={"nightly"})
    Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    clock.now = samara(2025, 12, 1, 8, 0)  # Monday 1 Dec, after the reports' slots
    done = Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    assert rec.calls == [
        ("nightly", samara(2025, 12, 1, 2, 30)),
        ("weekly-report", samara(2025, 12, 1, 7, 0)),
        ("monthly-report", samara(2025, 12, 1, 7, 30)),
        ("fixity-fast", samara(2025, 11, 30, 3, 30)),
        ("fixity-full", samara(2025, 11, 30, 4, 0)),
    ]
    assert [(r["job"], r["status"], r["error"]) for r in done] == [
        ("nightly", "failed", "RuntimeError: nightly broke: password=***"),
        ("weekly-report", "ok", None),
        ("monthly-report", "ok", None),
        ("fixity-fast", "ok", None),
        ("fixity-full", "ok", None),
    ]
    # a failed slot counts as run: it is not retried at the next start
    clock.now = samara(2025, 12, 1, 9, 0)
    Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    assert len(rec.calls) == 5


def test_run_once_raises_one_line_when_a_job_failed(config):
    clock = Clock(samara(2025, 11, 26, 12, 0))
    rec = Recorder(failing={"nightly"})
    assert Scheduler(config, jobs=rec.jobs(), clock=clock).run_once() == []
    clock.now = samara(2025, 11, 27, 3, 0)
    with pytest.raises(JobsFailed) as info:
        Scheduler(config, jobs=rec.jobs(), clock=clock).run_once()
    assert str(info.value) == "job nightly failed: RuntimeError: nightly broke: password=***"
    # cron runs every 15 minutes: only the first start is recorded as the baseline
    clock.now = samara(2025, 11, 27, 3, 15)
    assert Scheduler(config, jobs=rec.jobs(), clock=clock).run_once() == []
    assert [r["job"] for r in job_rows(config)] == ["scheduler", "nightly"]


def test_an_interrupted_run_is_marked_and_caught_up(config):
    clock = Clock(samara(2025, 11, 26, 12, 0))
    rec = Recorder()
    Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    db = open_mirror(config.mirror_path)
    db["job_runs"].insert(
        {
            "job": "nightly",
            "scheduled_for": iso(samara(2025, 11, 27, 2, 30)),
            "started_at": iso(samara(2025, 11, 27, 2, 30)),
            "status": "running",
        }
    )
    db.close()
    clock.now = samara(2025, 11, 27, 8, 0)  # the machine rebooted during the sync
    Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    assert rec.calls == [("nightly", samara(2025, 11, 27, 2, 30))]
    assert [(r["job"], r["status"], r["error"]) for r in job_rows(config)][1:] == [
        ("nightly", "interrupted", "the process stopped before the job finished"),
        ("scheduler", "started", None),
        ("nightly", "ok", None),
    ]


def test_a_manual_sync_after_the_slot_counts_as_the_nightly_run(config):
    clock = Clock(samara(2025, 11, 26, 12, 0))
    rec = Recorder()
    Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    db = open_mirror(config.mirror_path)
    db["sync_runs"].insert({"started_at": iso(samara(2025, 11, 27, 9, 0)), "status": "ok"})
    db["sync_runs"].insert({"started_at": iso(samara(2025, 11, 27, 10, 0)), "status": "failed"})
    db.close()
    clock.now = samara(2025, 11, 27, 11, 0)
    Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    assert rec.calls == []


def test_catch_up_can_be_switched_off(config, tmp_path):
    path = tmp_path / "asurso-sync.toml"
    path.write_text('[mirror]\npath = "m.db"\n[schedule]\ncatch_up = false\n', encoding="utf-8")
    config = load_config(path)
    clock = Clock(samara(2025, 11, 26, 12, 0))
    rec = Recorder()
    Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    clock.now = samara(2025, 11, 29, 12, 0)
    Scheduler(config, jobs=rec.jobs(), clock=clock).run_due()
    assert rec.calls == []


def test_apscheduler_fire_finds_its_slot_and_skips_a_slot_already_done(config):
    clock = Clock(samara(2025, 11, 26, 12, 0))
    rec = Recorder()
    sched = Scheduler(config, jobs=rec.jobs(), clock=clock)
    sched.run_due()
    clock.now = samara(2025, 11, 27, 2, 30, 0, 40_000)  # APScheduler calls 40 ms late
    sched._fire("nightly")
    clock.now = samara(2025, 11, 27, 7, 45)  # a delayed second call for the same slot
    sched._fire("nightly")
    assert rec.calls == [("nightly", samara(2025, 11, 27, 2, 30))]


def test_term_report_slots_come_from_the_mirror_terms(config):
    db = open_mirror(config.mirror_path)
    db["years"].insert({"id": 1, "name": "2025/2026"})
    db["terms"].insert_all(
        [
            {
                "id": 11,
                "year_id": 1,
                "name": "1 четверть",
                "start_date": "2025-09-01T00:00:00",
                "end_date": "2025-10-24T00:00:00",
            },
            {
                "id": 12,
                "year_id": 1,
                "name": "2 четверть",
                "start_date": "2025-11-05T00:00:00",
                "end_date": "2025-12-26T00:00:00",
            },
            {
                "id": 19,
                "year_id": 1,
                "name": "Учебный год",
                "start_date": "2025-09-01T00:00:00",
                "end_date": "2026-05-31T00:00:00",
            },
        ]
    )
    db.close()
    sched = Scheduler(config, jobs=Recorder().jobs())
    assert sched.triggers["term-report"].times == [
        samara(2025, 10, 25, 8, 0),
        samara(2025, 12, 27, 8, 0),
    ]
    rows = {r["job"]: r for r in sched.overview(samara(2025, 11, 1))}
    assert rows["term-report"]["next_run"] == "2025-12-27T08:00:00+04:00"
    assert rows["nightly"]["next_run"] == "2025-11-01T02:30:00+04:00"
    assert rows["nightly"]["last_status"] is None


def test_cron_failure_is_exit_1_and_one_line_on_stderr(tmp_path):
    """Real wiring: the nightly job fails because no portal login is configured."""
    path = tmp_path / "asurso-sync.toml"
    path.write_text(
        '[mirror]\npath = "m.db"\n[credentials]\nlogin_env = "ASURSO_TEST_NO_LOGIN"\n'
        '[schedule]\ndisabled = ["weekly-report", "monthly-report", "term-report", '
        '"fixity-fast", "fixity-full"]\n',
        encoding="utf-8",
    )
    config = load_config(path)
    db = open_mirror(config.mirror_path)
    start = datetime.now(UTC) - timedelta(days=2)
    db["job_runs"].insert(
        {
            "job": "scheduler",
            "scheduled_for": iso(start),
            "started_at": iso(start),
            "status": "started",
        }
    )
    db.close()
    result = CliRunner().invoke(
        cli, ["--config", str(path), "schedule", "--once"], env={"ASURSO_TEST_NO_LOGIN": ""}
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert lines == [
        "Error: job nightly failed: CredentialsError: no portal login: set "
        "$ASURSO_TEST_NO_LOGIN or [credentials] login in the config"
    ]
    assert result.stderr.rstrip("\n").splitlines()[-1] == lines[0]


def test_list_and_print_cron(config, tmp_path):
    result = CliRunner().invoke(cli, ["--config", str(config.path), "schedule", "--list"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "jobs (times in Europe/Samara):"
    assert (
        "  term-report: term reports the day after each term ends; next —; last never run"
        in result.stdout.splitlines()
    )
    nightly = next(ln for ln in result.stdout.splitlines() if ln.startswith("  nightly: "))
    assert re.fullmatch(
        r"  nightly: nightly sync and checks; next \d\d\.\d\d\.\d{4} 02:30; last never run", nightly
    )
    result = CliRunner().invoke(cli, ["--config", str(config.path), "schedule", "--print-cron"])
    assert result.exit_code == 0
    line = result.stdout.strip()
    assert line.startswith("*/15 * * * * ")
    assert line.endswith(f"--config {config.path} -q schedule --once")


def test_a_second_scheduler_is_refused_and_a_cron_run_just_skips(config, caplog):
    from asurso_sync.schedule import ScheduleLocked
    from asurso_sync.schedule.scheduler import ScheduleLock

    clock = Clock(samara(2025, 11, 26, 12, 0))
    rec = Recorder()
    with ScheduleLock(config.mirror_path):
        with pytest.raises(
            ScheduleLocked,
            match=r"another scheduler is already running jobs "
            r"on this mirror \(\{\"pid\": \d+",
        ):
            Scheduler(config, jobs=rec.jobs(), clock=clock).run_forever()
        assert Scheduler(config, jobs=rec.jobs(), clock=clock).run_once() == []
    assert "another scheduler is already running jobs on this mirror" in caplog.text
    assert rec.calls == []
    assert job_rows(config) == []  # nothing recorded while another scheduler works


def _cron_config(tmp_path):
    path = tmp_path / "asurso-sync.toml"
    path.write_text(
        '[mirror]\npath = "m.db"\n[portal]\nbase_url = "http://127.0.0.1:9"\nschool_id = 1\n'
        '[schedule]\ndisabled = ["weekly-report", "monthly-report", "term-report", '
        '"fixity-fast", "fixity-full"]\n',
        encoding="utf-8",
    )
    config = load_config(path)
    db = open_mirror(config.mirror_path)
    start = datetime.now(UTC) - timedelta(days=2)
    db.table("job_runs").insert(
        {"job": "scheduler", "scheduled_for": iso(start), "started_at": iso(start)}
        | {"status": "started"}
    )
    db.close()
    return path, config


def test_a_busy_sync_lock_is_no_failure_the_nightly_job_runs_at_the_next_tick(tmp_path):
    """`schedule --once` during a manual sync: skip (exit 0, one line), retry next time."""
    path, config = _cron_config(tmp_path)
    env = {"ASURSO_LOGIN": "admin", "ASURSO_PASSWORD": "x"}
    with SyncLock(config.mirror_path):  # a manual `asurso-sync sync` is running
        result = CliRunner().invoke(cli, ["--config", str(path), "schedule", "--once"], env=env)
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    assert line.startswith("nightly: busy (slot ")
    assert line.endswith(
        "— another sync is already running on this mirror ("
        + line.split("on this mirror (")[1].split(")")[0]
        + "); wait for it to finish; it runs at the next tick once the lock is free"
    )
    assert "Error" not in result.stderr
    assert [(r["job"], r["status"]) for r in job_rows(config)] == [
        ("scheduler", "started"),
        ("nightly", "busy"),
    ]
    # the next tick, the lock free: the same slot runs (here it fails on the unreachable portal)
    clock = Clock(datetime.now(UTC))
    rec = Recorder()
    done = Scheduler(config, jobs=rec.jobs(), clock=clock).run_once()
    assert [(r["job"], r["status"], r["scheduled_for"]) for r in done] == [
        ("nightly", "ok", job_rows(config)[1]["scheduled_for"])
    ]
    # and the following tick has nothing left to do for that slot
    assert Scheduler(config, jobs=rec.jobs(), clock=clock).run_once() == []


def test_the_service_retries_a_busy_slot_once_the_lock_is_free(config):
    clock = Clock(samara(2025, 11, 26, 12, 0))
    calls = []

    def nightly(ctx, slot):
        calls.append(slot)
        if len(calls) == 1:
            raise SyncLocked("another sync is already running on this mirror")
        return "fine"

    sched = Scheduler(config, jobs={"nightly": nightly}, clock=clock)
    sched.run_due()
    aps = sched.build(BackgroundScheduler)  # built, never started: its job list is the plan
    clock.now = samara(2025, 11, 27, 2, 30, 1)
    sched._fire("nightly")
    retry = aps.get_job("retry-nightly")
    assert retry.args == ("nightly", samara(2025, 11, 27, 2, 30))
    assert retry.trigger.run_date == clock.now + timedelta(minutes=10)
    clock.now += timedelta(minutes=10)
    retry.func(*retry.args)
    assert calls == [samara(2025, 11, 27, 2, 30)] * 2
    assert [r["status"] for r in job_rows(config)] == ["started", "busy", "ok"]


def test_once_with_nothing_due_names_the_next_job(config, tmp_path):
    runner = CliRunner()
    args = ["--config", str(config.path), "schedule", "--once"]
    first = runner.invoke(cli, args)  # the first start only sets the baseline
    assert first.exit_code == 0, first.output
    [line] = first.stdout.splitlines()
    assert line.startswith("nothing due; next: ")
    rows = Scheduler(config).overview(samara(2025, 11, 26, 12, 0))
    assert next_job_line(rows, SAMARA, samara(2025, 11, 26, 12, 0)) == (
        "nothing due; next: nightly at 27.11.2025 02:30"
    )
    assert next_job_line(rows, SAMARA, samara(2025, 11, 27, 1, 0)) == (
        "nothing due; next: nightly at 02:30"
    )
    quiet = runner.invoke(cli, ["--config", str(config.path), "-q", "schedule", "--once"])
    assert (quiet.exit_code, quiet.stdout) == (0, "")
