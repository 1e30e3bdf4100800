"""The real jobs, wired to the sync, rules, documents and archive, run through the scheduler."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from altered_portal import Altered
from mirrors import copy_mirror

from asurso_sync.config import load_config
from asurso_sync.mirror.db import open_mirror
from asurso_sync.schedule import Scheduler
from asurso_sync.simulator import make_app, serve

SAMARA = ZoneInfo("Europe/Samara")


def samara(*args) -> datetime:
    return datetime(*args, tzinfo=SAMARA)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        )
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


def write_config(tmp_path, mirror, extra=""):
    path = tmp_path / "asurso-sync.toml"
    path.write_text(
        f'[mirror]\npath = "{mirror}"\n[archive]\npath = "store"\n{extra}', encoding="utf-8"
    )
    return load_config(path)


def test_nightly_job_syncs_the_portal_and_checks(small_school, tmp_path, monkeypatch):
    app = make_app(small_school, as_of=dt.date(2026, 5, 20), latency_ms=0)
    server = serve(app, host="127.0.0.1", port=0)
    try:
        admin = next(a for a in app.accounts if a["role"] == "admin")
        monkeypatch.setenv("ASURSO_LOGIN", admin["login"])
        monkeypatch.setenv("ASURSO_PASSWORD", admin["password"])
        config = write_config(
            tmp_path,
            "asurso.db",
            f'[portal]\nbase_url = "{server.url}"\nschool_id = {admin["school_id"]}\n',
        )
        sched = Scheduler(config)
        row = sched.run_slot("nightly", samara(2026, 5, 20, 2, 30))
    finally:
        server.shutdown()
    assert (row["job"], row["status"], row["error"]) == ("nightly", "ok", None)
    db = open_mirror(config.mirror_path)
    assert [r["status"] for r in db.query("SELECT status FROM sync_runs")] == ["ok"]
    assert db.execute("SELECT count(*) FROM check_runs").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM violations").fetchone()[0] > 0
    db.close()
    # the sync brought the terms: the term job now knows the day after the 4th term
    assert sched.triggers["term-report"].times[-1] == samara(2026, 5, 26, 8, 0)


def test_monthly_reports_are_rendered_for_the_month_before_and_emailed(
    small_mirror, tmp_path, smtp
):
    mirror = copy_mirror(small_mirror, tmp_path)
    config = write_config(
        tmp_path,
        mirror.name,
        (
            f'[email]\nhost = "127.0.0.1"\nport = {smtp.port}\nstarttls = false\n'
            'from = "asurso@school.example"\nto = "zam@school.example"\n'
        ),
    )
    row = Scheduler(config).run_slot("monthly-report", samara(2026, 5, 1, 7, 30))
    assert (row["status"], row["error"]) == ("ok", None)
    folder = tmp_path / "reports" / "2026-04"
    html = sorted(p.name for p in folder.glob("*.html"))
    assert html and all(p.endswith(".html") for p in html)
    [msg] = smtp.messages
    assert msg["Subject"] == "[asurso-sync] ежемесячные отчёты за 2026-04"
    assert sorted(p.get_filename() for p in msg.iter_attachments()) == html


def test_term_job_reports_on_the_term_that_just_ended(small_mirror, tmp_path):
    mirror = copy_mirror(small_mirror, tmp_path)
    config = write_config(tmp_path, mirror.name, '[schedule]\nterm_reports = ["filling"]\n')
    sched = Scheduler(config)
    assert sched.triggers["term-report"].times == [
        samara(2025, 10, 27, 8, 0),
        samara(2025, 12, 29, 8, 0),
        samara(2026, 3, 23, 8, 0),
        samara(2026, 5, 26, 8, 0),
    ]
    row = sched.run_slot("term-report", samara(2026, 3, 23, 8, 0))
    assert (row["status"], row["error"]) == ("ok", None)
    assert list((tmp_path / "reports" / "term3").glob("*.html"))


def test_fixity_jobs_with_an_empty_store_and_a_failing_one_does_not_stop_the_next(
    small_mirror, tmp_path
):
    mirror = copy_mirror(small_mirror, tmp_path)
    config = write_config(tmp_path, mirror.name, '[schedule]\nweekly_reports = ["activity"]\n')
    sched = Scheduler(config)
    fast = sched.run_slot("fixity-fast", samara(2026, 5, 17, 3, 30))
    assert (fast["status"], fast["error"]) == ("ok", None)
    # a monthly slot with no [email] and a real render still works after a failed job
    broken = sched.run_slot("term-report", samara(2025, 9, 2, 8, 0))
    assert (broken["status"], broken["error"]) == (
        "failed",
        "JobError: no term of the mirror ended before this slot: nothing to report on",
    )
    weekly = sched.run_slot("weekly-report", samara(2026, 5, 18, 7, 0))
    assert (weekly["status"], weekly["error"]) == ("ok", None)
    assert list((tmp_path / "reports" / "2026-W20").glob("*.html"))


def test_a_partial_nightly_sync_still_checks_and_fails_the_job_with_its_one_line(
    small_school, tmp_path, monkeypatch
):
    """A journal that answers garbage: the rest commits and is checked; the job is recorded
    failed with the sync's line, so `schedule --once` exits non-zero and `status` shows it."""

    def garbage_first_journal(body, query):
        return {"journals": "garbage"} if query.get("sgId") == [str(first_group)] else None

    plain = make_app(small_school, as_of=dt.date(2026, 5, 20), latency_ms=0)
    first_group = min(small_school.groups)
    app = Altered(plain, {"/webapi/grade/journal": garbage_first_journal})
    server = serve(app, host="127.0.0.1", port=0)
    try:
        admin = next(a for a in plain.accounts if a["role"] == "admin")
        monkeypatch.setenv("ASURSO_LOGIN", admin["login"])
        monkeypatch.setenv("ASURSO_PASSWORD", admin["password"])
        config = write_config(
            tmp_path,
            "asurso.db",
            f'[portal]\nbase_url = "{server.url}"\nschool_id = {admin["school_id"]}\n'
            "max_retries = 1\n",
        )
        row = Scheduler(config).run_slot("nightly", samara(2026, 5, 20, 2, 30))
    finally:
        server.shutdown()
    assert (row["job"], row["status"]) == ("nightly", "failed")
    assert row["error"].startswith("JobError: run 1 is partial: ")
    assert "scopes skipped (" in row["error"] and "; check: check 1 as of " in row["error"]
    db = open_mirror(config.mirror_path)
    assert [r["status"] for r in db.query("SELECT status FROM sync_runs")] == ["partial"]
    assert db.execute("SELECT count(*) FROM check_runs").fetchone()[0] == 1
    db.close()
