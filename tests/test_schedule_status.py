"""`status` composition: sync health, jobs' last/next runs, violations, archive, disk use."""

from __future__ import annotations

import datetime as dt
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from mirrors import copy_mirror

from asurso_sync.cli import cli
from asurso_sync.config import load_config
from asurso_sync.mirror.db import open_mirror
from asurso_sync.status import collect_status, file_bytes, render_ops, render_status


def _config(tmp_path, small_mirror):
    mirror = copy_mirror(small_mirror, tmp_path)
    (tmp_path / "archive_store").mkdir()
    (tmp_path / "archive_store" / "note.txt").write_bytes(b"x" * 1234)
    path = tmp_path / "asurso-sync.toml"
    path.write_text(
        f'[mirror]\npath = "{mirror.name}"\n[archive]\npath = "archive_store"\n'
        '[schedule]\ndisabled = ["fixity-full"]\n',
        encoding="utf-8",
    )
    db = open_mirror(mirror)
    db["job_runs"].insert_all(
        [
            {
                "job": "nightly",
                "scheduled_for": "2026-05-19T22:30:00+00:00",
                "started_at": "2026-05-19T22:30:01+00:00",
                "finished_at": "2026-05-19T22:41:00+00:00",
                "status": "ok",
            },
            {
                "job": "weekly-report",
                "scheduled_for": "2026-05-18T03:00:00+00:00",
                "started_at": "2026-05-18T03:00:00+00:00",
                "finished_at": "2026-05-18T03:00:09+00:00",
                "status": "failed",
                "error": "MissingExtra: WeasyPrint is not installed",
            },
        ]
    )
    db.close()
    return load_config(path)


def test_collect_status_composes_every_section(tmp_path, small_mirror):
    config = _config(tmp_path, small_mirror)
    now = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)  # Wednesday 16:00 in Samara
    data = collect_status(config, now)
    assert data["health"]["last_ok_run"] == 1
    jobs = {j["job"]: j for j in data["jobs"]}
    assert jobs["nightly"] == {
        "job": "nightly",
        "what": "nightly sync and checks",
        "enabled": True,
        "schedule": "cron[hour='2', minute='30', second='0']",
        "next_run": "2026-05-21T02:30:00+04:00",
        "last_run": "2026-05-20T02:30:01+04:00",
        "last_slot": "2026-05-20T02:30:00+04:00",
        "last_status": "ok",
        "last_error": None,
    }
    assert (
        jobs["weekly-report"]["last_status"],
        jobs["weekly-report"]["last_error"],
        jobs["weekly-report"]["next_run"],
    ) == ("failed", "MissingExtra: WeasyPrint is not installed", "2026-05-25T07:00:00+04:00")
    assert jobs["fixity-full"]["enabled"] is False
    # the mirror's last term ends in May: the term job waits for the day after it
    assert jobs["term-report"]["next_run"] is not None
    assert data["disk"]["mirror_bytes"] == file_bytes(config.mirror_path) > 0
    assert data["disk"]["archive_bytes"] >= 1234
    # the shared mirror was synced, never checked; the store holds no bag yet
    assert (data["violations"]["last_check"], data["violations"]["open"]) == (None, 0)
    assert (data["archive"]["bags"], data["archive"]["problems"]) == ([], 0)


def test_status_command_text_and_json_include_jobs_and_disk(tmp_path, small_mirror):
    config = _config(tmp_path, small_mirror)
    result = CliRunner().invoke(cli, ["--config", str(config.path), "status", "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [j["job"] for j in data["jobs"]] == [
        "nightly",
        "weekly-report",
        "monthly-report",
        "term-report",
        "fixity-fast",
        "fixity-full",
    ]
    assert set(data["disk"]) == {
        "mirror_bytes",
        "archive_bytes",
        "mirror_free_bytes",
        "archive_free_bytes",
    }
    text = CliRunner().invoke(cli, ["--config", str(config.path), "status"]).stdout
    lines = text.splitlines()
    assert "jobs (times in Europe/Samara):" in lines
    assert "  fixity-full: disabled" in lines
    assert "    error: MissingExtra: WeasyPrint is not installed" in lines
    nightly = next(ln for ln in lines if ln.startswith("  nightly: "))
    assert nightly.startswith("  nightly: nightly sync and checks; next ")
    assert nightly.endswith("; last ok 20.05.2026 02:30")
    assert any(ln.startswith("disk: mirror ") for ln in lines)
    assert "None" not in text


def test_status_times_are_school_local_and_a_mirror_never_synced_says_so():
    data = {
        "mirror": "/srv/m.db",
        "health": {
            "state": "failing",
            "last_ok_run": None,
            "last_ok_at": None,
            "failed_since_last_ok": 1,
        },
        "runs": [
            {
                "id": 1,
                "status": "failed",
                "mode": "full",
                "started_at": "2026-12-01T22:16:05+00:00",
                "journals": 0,
                "requests": 3,
                "error": "the portal refused the login",
            }
        ],
        "tables": {"marks": {"rows": 0, "deleted": 0}},
    }
    assert render_status(data, ZoneInfo("Europe/Samara")).splitlines() == [
        "mirror: /srv/m.db",
        "sync: failing (no successful run yet; 1 failed since)",
        "  run 1: failed full started 02.12.2026 02:16 journals=0 requests=3"
        " — the portal refused the login",
        "rows (live / marked deleted):",
    ]


def test_status_text_after_a_check_shows_open_violations_per_rule_and_teacher(
    tmp_path, small_mirror
):
    from asurso_sync.rules import check, load_rule_settings

    config = _config(tmp_path, small_mirror)
    db = open_mirror(config.mirror_path)
    result = check(db, load_rule_settings(config))
    by_rule = dict(
        db.execute(
            "SELECT rule, count(*) FROM violations WHERE status IN ('new', 'open') "
            "GROUP BY rule ORDER BY rule"
        ).fetchall()
    )
    db.close()
    text = CliRunner().invoke(cli, ["--config", str(config.path), "status"]).stdout
    lines = text.splitlines()
    total = sum(by_rule.values())
    assert total > 0
    assert (
        f"violations: {total} open (check {result.check_id} as of "
        f"{dt.date.fromisoformat(str(result.as_of)):%d.%m.%Y}); "
        "0 fixed, 0 excused"
    ) in lines
    assert "  by rule: " + ", ".join(f"{r} {n}" for r, n in by_rule.items()) in lines
    assert any(ln.startswith("  by teacher: ") for ln in lines)
    assert (
        f"archive: 0 bag(s) in {tmp_path / 'archive_store'}; 0 failed check(s); "
        "due for destruction: none; full checks overdue: none" in lines
    )


def test_archive_lines_name_each_bag_and_its_last_check():
    archive = {
        "store": "/srv/archive",
        "bags": [
            {
                "bag": "ej-107-2025-2026-journal-v1",
                "retain_until": "2032-01-01",
                "last_check": "fixity_fast",
                "last_check_at": "2026-07-05T00:30:00+00:00",
                "last_result": "failed",
                "last_full_check_at": "2026-06-30T10:00:00+00:00",
            },
            {
                "bag": "ej-107-2025-2026-summary-v1",
                "retain_until": "2052-01-01",
                "last_check": None,
                "last_check_at": None,
                "last_result": None,
                "last_full_check_at": None,
            },
        ],
        "problems": 1,
        "due": [],
        "full_checks_overdue": ["ej-107-2025-2026-summary-v1"],
    }
    assert render_ops({"archive": archive}, ZoneInfo("Europe/Samara")) == [
        "archive: 2 bag(s) in /srv/archive; 1 failed check(s); due for destruction: none; "
        "full checks overdue: ej-107-2025-2026-summary-v1",
        "  ej-107-2025-2026-journal-v1: fixity_fast failed at 05.07.2026 04:30; "
        "retain until 01.01.2032",
        "  ej-107-2025-2026-summary-v1: never checked; retain until 01.01.2052",
    ]


def test_a_partial_run_names_its_skipped_scopes_and_each_run_its_portal_version():
    data = {
        "mirror": "/srv/m.db",
        "health": {
            "state": "partial",
            "last_ok_run": 7,
            "last_ok_at": "2026-12-01T22:40:00+00:00",
            "failed_since_last_ok": 0,
            "skipped_scopes": [
                {
                    "endpoint": "grade/journal",
                    "error": "the portal's answer to grade/journal has a wrong 'journals'",
                    "subject_group_id": 1201,
                    "term_id": 26904,
                }
            ],
        },
        "runs": [
            {
                "id": 7,
                "status": "partial",
                "mode": "incremental",
                "started_at": "2026-12-01T22:30:00+00:00",
                "journals": 90,
                "requests": 140,
                "error": None,
                "portal_version": "5.44.7850.27567",
            }
        ],
        "tables": {},
    }
    assert render_status(data, ZoneInfo("Europe/Samara")).splitlines() == [
        "mirror: /srv/m.db",
        "sync: partial (last ok run 7 at 02.12.2026 02:40; 0 failed since)",
        "  1 scope(s) skipped and left as they were (the next sync tries them again); first: "
        "grade/journal subject_group_id=1201, term_id=26904: the portal's answer to "
        "grade/journal has a wrong 'journals'",
        "  run 7: partial incremental started 02.12.2026 02:30 journals=90 requests=140"
        " portal=5.44.7850.27567",
        "rows (live / marked deleted):",
    ]


def test_archive_lines_show_every_copy_apart_from_the_store_and_the_chain_head():
    archive = {
        "store": "/srv/archive",
        "bags": [
            {
                "bag": "ej-107-2025-2026-journal-v1",
                "retain_until": "2032-01-01",
                "last_check": "fixity_full",
                "last_check_at": "2026-07-05T00:30:00+00:00",
                "last_result": "ok",
                "last_full_check_at": "2026-07-05T00:30:00+00:00",
                "copies": [
                    {
                        "location": "/media/usb",
                        "last_check": "fixity_full",
                        "last_check_at": "2026-07-06T08:00:00+00:00",
                        "result": "failed",
                        "fast": False,
                    }
                ],
            }
        ],
        "problems": 1,
        "due": [],
        "full_checks_overdue": [],
        "chain_head": "9f2c",
    }
    assert render_ops({"archive": archive}, ZoneInfo("Europe/Samara")) == [
        "archive: 1 bag(s) in /srv/archive; 1 failed check(s); due for destruction: none; "
        "full checks overdue: none",
        "  ej-107-2025-2026-journal-v1: fixity_full ok at 05.07.2026 04:30; "
        "retain until 01.01.2032",
        "    copy /media/usb: fixity_full failed at 06.07.2026 12:00",
        "  register chain head: 9f2c",
    ]
