"""Issue 12's archive cases, each set up as described, with exit code, message and the store
before and after: forged retention, a crash between two bags, a rewritten register, output
inside the store, a copy's failure, sealing a year in progress, deletions at the year's end,
and files written whole or not at all."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from archive_fixture import (
    YEAR,
    FakeRenderer,
    make_config,
    make_mirror,
    snapshot,
    write_config,
)
from click.testing import CliRunner

from asurso_sync.archive import (
    ArchiveError,
    approve_act,
    bag_health,
    create,
    destroy,
    destruction_act,
    due,
    status_section,
    verify,
)
from asurso_sync.archive import store as store_module
from asurso_sync.archive.layout import remove_tree
from asurso_sync.archive.register import events, open_register
from asurso_sync.cli import cli
from asurso_sync.documents.output import atomic_write
from asurso_sync.mirror.db import open_mirror

JOURNAL = "ej-1234-2025-2026-journal-v1"
SUMMARY = "ej-1234-2025-2026-summary-v1"


def _cli(tmp, *args, **kwargs):
    path = write_config(tmp)
    return CliRunner().invoke(cli, ["--config", str(path), *args], **kwargs)


def _forge_retention(bag, until):
    info = bag / "bag-info.txt"
    os.chmod(bag, 0o750)
    os.chmod(info, 0o640)
    text = info.read_text("utf-8")
    info.write_text(text.replace("Retain-Until: 2032-01-01", f"Retain-Until: {until}"), "utf-8")
    assert f"Retain-Until: {until}" in info.read_text("utf-8")


def _event_count(store):
    conn = open_register(store)
    try:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()


# ---------------------------------------------------------------- 2. forged Retain-Until


def test_a_forged_retain_until_neither_makes_a_bag_due_nor_lets_it_be_destroyed(store_copy):
    tmp, store, config = store_copy["tmp"], store_copy["store"], store_copy["config"]
    _forge_retention(store / JOURNAL, "2020-01-01")
    before = snapshot(store / JOURNAL)

    listed = _cli(tmp, "archive", "due")
    assert (listed.exit_code, listed.stdout) == (0, "no bag is due before 01.01.2032\n")
    act = _cli(tmp, "archive", "destruction-act")
    assert (act.exit_code, act.stdout) == (0, "no bag is due before 01.01.2032\n")
    conn = open_register(store)
    assert conn.execute("SELECT count(*) FROM acts").fetchone()[0] == 0
    conn.close()
    with pytest.raises(ArchiveError, match="there is no destruction act № 1"):
        destroy(config, JOURNAL, "1")
    assert snapshot(store / JOURNAL) == before


def test_destroy_refuses_a_tampered_bag_even_under_an_approved_act(store_copy):
    tmp, store, config = store_copy["tmp"], store_copy["store"], store_copy["config"]
    destruction_act(config, on=date(2032, 1, 10), number="1")
    approve_act(config, "1", "Директор")
    _forge_retention(store / JOURNAL, "2020-01-01")
    before = snapshot(store / JOURNAL)
    refused = _cli(tmp, "archive", "destroy", JOURNAL, "--act", "1", "--yes")
    assert refused.exit_code == 1
    # today the register's date still holds, whatever bag-info.txt says
    assert refused.stderr == (
        f"Error: {JOURNAL} must be kept until 01.01.2032 (the register's ingest record); "
        "it cannot be destroyed before then\n"
    )
    with pytest.raises(ArchiveError) as caught:
        destroy(config, JOURNAL, "1", today=date(2032, 2, 1))
    assert str(caught.value) == (
        f"{JOURNAL} failed its full verification, not destroyed (a tampered bag is evidence): "
        "changed: bag-info.txt (sha512 and sha256 differ)"
    )
    assert snapshot(store / JOURNAL) == before
    last = events(open_register(store))[-1]
    assert (last["event"], last["bag"], last["result"], last["details"]["for"]) == (
        "fixity_full",
        JOURNAL,
        "failed",
        "destroy",
    )


# ---------------------------------------------------------------- 3. a crash between two bags

_KILLED = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from archive_fixture import FakeRenderer, make_config
from asurso_sync.archive import build

tmp, when = Path(sys.argv[1]), sys.argv[2]
real_log, real_fsync = build.log_event, build.fsync_dir
ingests = []

def log_event(register, event, bag, *args, **kwargs):
    real_log(register, event, bag, *args, **kwargs)
    ingests.append(bag)
    if when == "after-summary-record" and len(ingests) == 2:
        os.kill(os.getpid(), signal.SIGKILL)

def fsync_dir(path):
    real_fsync(path)
    if when == "after-journal-move":
        os.kill(os.getpid(), signal.SIGKILL)

build.log_event, build.fsync_dir = log_event, fsync_dir
build.create(make_config(tmp), "2025/2026", renderer=FakeRenderer())
"""


def _killed_create(tmp, when):
    tests = os.path.dirname(__file__)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), tests])}
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED, str(tmp), when, tests], env=env, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL


def _ingested(store):
    return [(e["event"], e["bag"]) for e in events(open_register(store)) if "ingest" in e["event"]]


def test_sigkill_after_the_first_bag_leaves_it_anchored_and_create_finishes_the_year(tmp_path):
    make_mirror(tmp_path / "mirror.db")
    store = tmp_path / "store"
    _killed_create(tmp_path, "after-journal-move")
    assert sorted(p.name for p in store.iterdir() if p.name.startswith("ej-")) == [JOURNAL]
    assert _ingested(store) == [("ingest", JOURNAL)]
    checked = _cli(tmp_path, "archive", "verify")
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.splitlines()[0] == f"OK (fast: sizes and manifests)\t{JOURNAL}"
    made = create(make_config(tmp_path), YEAR, renderer=FakeRenderer())
    assert [p.name for p in made] == [SUMMARY]
    assert [r.ok for r in verify(make_config(tmp_path))] == [True, True]


def test_sigkill_between_a_record_and_its_move_is_cancelled_by_the_next_run(tmp_path):
    make_mirror(tmp_path / "mirror.db")
    store = tmp_path / "store"
    _killed_create(tmp_path, "after-summary-record")
    assert sorted(p.name for p in store.iterdir() if p.name.startswith("ej-")) == [JOURNAL]
    # the record without its bag is reported, never a bag without its record
    checked = _cli(tmp_path, "archive", "verify")
    assert checked.exit_code == 1
    assert f"FAILED\t{SUMMARY}\n  missing: {SUMMARY} (the bag folder is gone)\n" in checked.stdout
    made = create(make_config(tmp_path), YEAR, renderer=FakeRenderer())
    assert [p.name for p in made] == [SUMMARY]
    assert _ingested(store) == [
        ("ingest", JOURNAL),
        ("ingest", SUMMARY),
        ("ingest_cancelled", SUMMARY),
        ("ingest", SUMMARY),
    ]
    assert [(r.bag, r.ok) for r in verify(make_config(tmp_path))] == [
        (JOURNAL, True),
        (SUMMARY, True),
    ]


def test_a_failed_move_cancels_the_record_at_once(tmp_path, monkeypatch):
    make_mirror(tmp_path / "mirror.db")
    real_rename = os.rename

    def rename(src, dst):
        if str(dst).endswith(SUMMARY):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(src, dst)

    monkeypatch.setattr("asurso_sync.archive.build.os.rename", rename)
    with pytest.raises(ArchiveError, match=f"could not move {SUMMARY} into"):
        create(make_config(tmp_path), YEAR, renderer=FakeRenderer())
    assert _ingested(tmp_path / "store") == [
        ("ingest", JOURNAL),
        ("ingest", SUMMARY),
        ("ingest_cancelled", SUMMARY),
    ]


def test_verify_flags_a_bag_the_register_never_ingested(store_copy):
    tmp, store = store_copy["tmp"], store_copy["store"]
    stray = store / "ej-1234-2025-2026-summary-v2"
    os.rename(store / SUMMARY, stray)  # e.g. left by an older version that crashed
    result = _cli(tmp, "archive", "verify")
    assert result.exit_code == 1
    assert (
        f"FAILED\t{stray.name}\n"
        f"  unregistered: {stray.name} (the register holds no ingest record of this bag)\n"
    ) in result.stdout
    listed = _cli(tmp, "archive", "list")
    assert f"{stray.name}\t2025/2026\tsummary-25y\t—\tstore" in listed.stdout
    assert "(no ingest record in the register)" in listed.stdout
    assert stray.name not in {b.name for b in due(store_copy["config"], date(2100, 1, 1))}


# ---------------------------------------------------------------- 4. a rewritten register


def test_an_edit_after_drop_trigger_breaks_the_chain_and_stops_destruction(store_copy):
    tmp, store, config = store_copy["tmp"], store_copy["store"], store_copy["config"]
    conn = sqlite3.connect(store / "register.sqlite")
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute(
        "UPDATE events SET details = replace(details, '2032-01-01', '2020-01-01') WHERE bag = ?",
        (JOURNAL,),
    )
    conn.commit()
    conn.close()
    before = snapshot(store / JOURNAL)
    result = _cli(tmp, "archive", "verify")
    assert result.exit_code == 1
    assert result.stdout.startswith(
        "FAILED\tregister\n"
        "  chain: register.sqlite (register event 1 was changed after it was written)\n"
    )
    assert "append-only triggers were missing: events_no_update" in result.stdout
    assert "Error: 1 check(s) failed (fast)" in result.stderr
    # the edited record would make the journal due: nothing is decided from a broken chain
    refused = _cli(tmp, "archive", "due")
    assert refused.exit_code == 1
    assert "the archive register's hash chain is broken" in refused.stderr
    with pytest.raises(ArchiveError, match="hash chain is broken"):
        destruction_act(config, on=date(2026, 12, 2))
    assert snapshot(store / JOURNAL) == before


def test_the_chain_head_is_printed_on_d10_and_follows_each_event(store_copy):
    config = store_copy["config"]
    conn = open_register(store_copy["store"])
    rows = conn.execute("SELECT id, prev_hash, hash FROM events ORDER BY id").fetchall()
    conn.close()
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    out = store_copy["tmp"] / "d10"
    result = _cli(store_copy["tmp"], "report", "D10", "-o", str(out))
    assert result.exit_code == 0, result.output
    html = (out / "D10_register.html").read_text("utf-8")
    assert rows[-1]["hash"] in html
    verify(config)  # a new event chains on to the head
    conn = open_register(store_copy["store"])
    new = conn.execute("SELECT prev_hash FROM events WHERE id = ?", (rows[-1]["id"] + 1,))
    assert new.fetchone()[0] == rows[-1]["hash"]


# ---------------------------------------------------------------- 9. output inside the store


def test_get_refuses_an_output_folder_inside_the_store(store_copy):
    tmp, store = store_copy["tmp"], store_copy["store"]
    before = snapshot(store)
    result = _cli(tmp, "archive", "get", JOURNAL, "-o", str(store / JOURNAL / "data"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the output folder {store / JOURNAL / 'data'} is inside the archive store "
        f"{store}; choose a folder outside it\n"
    )
    assert snapshot(store) == before


def test_verify_takes_bag_names_only_and_logs_nothing_for_a_folder(store_copy):
    tmp, store = store_copy["tmp"], store_copy["store"]
    count = _event_count(store)
    result = _cli(tmp, "archive", "verify", "/etc")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: '/etc' is not a bag name")
    assert "to check copies on a medium use --at DIR" in result.stderr
    assert _event_count(store) == count


# ---------------------------------------------------------------- 11. a copy's failure


def test_a_damaged_copy_is_the_copys_failure_not_the_stores(store_copy, tmp_path):
    tmp, config = store_copy["tmp"], store_copy["config"]
    medium = tmp_path / "usb"
    medium.mkdir()
    assert _cli(tmp, "archive", "copy", SUMMARY, "--to", str(medium)).exit_code == 0
    target = medium / SUMMARY / "data/print/5a/summary-sheet.pdf"
    os.chmod(target, 0o640)
    target.write_bytes(target.read_bytes()[:-1] + b"!")
    assert _cli(tmp, "archive", "verify", "--at", str(medium), "--full").exit_code == 1
    assert _cli(tmp, "archive", "verify").exit_code == 0  # the store is fine
    rows = [(h["bag"], h["location"], h["result"], h["fast"]) for h in bag_health(config)]
    assert rows == [
        (JOURNAL, str(store_copy["store"]), "ok", True),
        (SUMMARY, str(store_copy["store"]), "ok", True),
        (SUMMARY, str(medium), "failed", False),
    ]
    listed = _cli(tmp, "archive", "list").stdout.splitlines()
    assert [line.split("\t")[4:6] for line in listed[1:]][:3] == [
        ["store", listed[1].split("\t")[5]],
        ["store", listed[2].split("\t")[5]],
        [f"copy {medium}", listed[3].split("\t")[5]],
    ]
    assert listed[2].split("\t")[5].startswith("OK (fast: sizes and manifests) ")
    assert listed[3].split("\t")[5].startswith("FAILED ")
    section = status_section(config)
    summary = next(b for b in section["bags"] if b["bag"] == SUMMARY)
    assert (summary["last_result"], [c["result"] for c in summary["copies"]]) == (
        "ok",
        ["failed"],
    )
    assert section["problems"] == 1


# ---------------------------------------------------------------- 12. a year in progress


def test_a_year_whose_last_term_has_not_ended_is_refused_unless_forced(tmp_path):
    make_mirror(tmp_path / "mirror.db")
    config = make_config(tmp_path)
    with pytest.raises(ArchiveError) as caught:
        create(config, YEAR, renderer=FakeRenderer(), today=date(2025, 12, 2))
    assert str(caught.value) == (
        "not sealing 2025/2026: the last term of 2025/2026 ends on 31.05.2026 and today is "
        "02.12.2025: the year is not over (--force to seal)"
    )
    assert not [p for p in (tmp_path / "store").iterdir() if p.name.startswith("ej-")]
    made = create(config, YEAR, renderer=FakeRenderer(), today=date(2025, 12, 2), force=True)
    assert [p.name for p in made] == [JOURNAL, SUMMARY]


def test_a_year_not_synced_since_its_end_is_refused_with_the_reason(tmp_path):
    make_mirror(tmp_path / "mirror.db")
    db = open_mirror(tmp_path / "mirror.db")
    db.execute("DELETE FROM sync_runs WHERE id = 3")
    db.conn.commit()
    db.conn.close()
    result = _cli(tmp_path, "archive", "create", "--year", YEAR)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: not sealing 2025/2026: the last sync (04.09.2025) is not later than the end "
        "of the last term (31.05.2026): run `asurso-sync sync` first (--force seals it anyway)\n"
    )
    assert not (tmp_path / "store").exists() or not [
        p for p in (tmp_path / "store").iterdir() if p.name.startswith("ej-")
    ]


# ---------------------------------------------------------------- 1. deletions at the year's end


def test_classes_deleted_in_the_last_30_days_need_a_yes(tmp_path, monkeypatch):
    make_mirror(tmp_path / "mirror.db")
    db = open_mirror(tmp_path / "mirror.db")
    db.execute("UPDATE classes SET deleted_at = '2026-05-20T21:00:00+00:00' WHERE id = 103")
    db.execute("UPDATE students SET deleted_at = '2026-05-20T21:00:00+00:00' WHERE class_id = 103")
    db.conn.commit()
    db.conn.close()
    monkeypatch.setattr("asurso_sync.documents.cache.render", FakeRenderer())
    warning = (
        "Warning: 1 classes, 2 pupils of 2025/2026 were marked deleted between 01.05.2026 "
        "and 31.05.2026 (the year's last 30 days); a portal glitch would seal the year "
        "without them\n"
    )
    asked = _cli(tmp_path, "archive", "create", "--year", YEAR)
    assert asked.exit_code == 1
    assert asked.stderr == warning + (
        "Error: check the portal, then run again with --yes to seal the year as it is\n"
    )
    assert not (tmp_path / "store").exists()
    with pytest.raises(ArchiveError, match="check the portal, then confirm with --yes"):
        create(make_config(tmp_path), YEAR, renderer=FakeRenderer())
    sealed = _cli(tmp_path, "archive", "create", "--year", YEAR, "--yes")
    assert sealed.exit_code == 0, sealed.output
    assert sealed.stderr.startswith(warning)
    assert sealed.stdout.splitlines() == [
        str(tmp_path / "store" / JOURNAL),
        str(tmp_path / "store" / SUMMARY),
    ]


# ---------------------------------------------------------------- progress and quiet


def test_create_shows_plain_progress_lines_off_a_terminal_and_none_under_q(tmp_path, monkeypatch):
    make_mirror(tmp_path / "mirror.db")
    monkeypatch.setattr("asurso_sync.documents.cache.render", FakeRenderer())
    result = _cli(tmp_path, "archive", "create", "--year", YEAR)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "archive create:" in line]
    # 3 classes x (1 journal print + 2 summary prints) + 3 year reports x 2 terms + 2 seals;
    # quick work logs only its last line, naming the step
    assert len(lines) == 1
    assert lines[0].endswith(f"archive create: 17 of 17 steps, about 0 s left (sealed {SUMMARY})")
    remove_tree(tmp_path / "store")
    path = write_config(tmp_path)
    quiet = CliRunner().invoke(
        cli, ["-q", "--config", str(path), "archive", "create", "--year", YEAR]
    )
    assert quiet.exit_code == 0, quiet.output
    assert "archive create:" not in quiet.stderr


# ---------------------------------------------------------------- 5. files whole or not at all


def test_a_full_disk_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    target = tmp_path / "destruction-act-1.html"
    atomic_write(target, b"old")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("asurso_sync.documents.output.os.fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, b"new and longer")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["destruction-act-1.html"]
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_approval_needs_an_existing_act_and_a_name(store_copy):
    tmp = store_copy["tmp"]
    lone = _cli(tmp, "archive", "destruction-act", "--by", "ЭК")
    assert (lone.exit_code, lone.stderr.splitlines()[-1]) == (
        2,
        "Error: --by goes with --approve N",
    )
    nameless = _cli(tmp, "archive", "destruction-act", "--approve", "5")
    assert nameless.exit_code == 2
    assert "--approve needs --by NAME" in nameless.stderr
    unknown = _cli(tmp, "archive", "destruction-act", "--approve", "5", "--by", "ЭК")
    assert (unknown.exit_code, unknown.stderr) == (1, "Error: there is no destruction act № 5\n")
    assert [e["event"] for e in events(open_register(store_copy["store"]))] == [
        "ingest",
        "ingest",
    ]


def test_get_on_a_full_disk_leaves_no_half_copied_file(store_copy, tmp_path, monkeypatch):
    def half_then_full(src, dst):
        with open(dst, "wb") as fh:
            fh.write(Path(src).read_bytes()[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("asurso_sync.archive.store.shutil.copyfile", half_then_full)
    out = tmp_path / "out"
    result = _cli(store_copy["tmp"], "archive", "get", SUMMARY, "--class", "5а", "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: could not copy data/print/5a/class-progress.pdf into {out / '5a'}: "
        "No space left on device\n"
    )
    assert [p for p in out.rglob("*") if p.is_file()] == []


def test_create_on_a_full_disk_is_one_plain_line_and_leaves_nothing(tmp_path, monkeypatch):
    make_mirror(tmp_path / "mirror.db")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("asurso_sync.archive.build.export_tables", full)
    monkeypatch.setattr("asurso_sync.documents.cache.render", FakeRenderer())
    result = _cli(tmp_path, "archive", "create", "--year", YEAR)
    assert (result.exit_code, result.stderr.splitlines()[-1]) == (
        1,
        f"Error: could not build the bags in {tmp_path / 'store' / '.staging'}: "
        "No space left on device",
    )
    store = tmp_path / "store"
    assert sorted(p.name for p in store.iterdir()) == [".lock", ".staging", "register.sqlite"]
    assert list((store / ".staging").iterdir()) == []
    assert _ingested(store) == []


def test_a_destroy_killed_before_its_record_puts_the_bag_back(store_copy, monkeypatch):
    store, config = store_copy["store"], store_copy["config"]
    destruction_act(config, on=date(2032, 1, 10), number="1")
    approve_act(config, "1", "Директор")
    before = snapshot(store / JOURNAL)
    real_log = store_module.log_event

    def killed_at_the_record(register, event, *args, **kwargs):
        if event == "destroy":
            raise KeyboardInterrupt  # the process dies here
        return real_log(register, event, *args, **kwargs)

    monkeypatch.setattr(store_module, "log_event", killed_at_the_record)
    with pytest.raises(KeyboardInterrupt):
        destroy(config, JOURNAL, "1", today=date(2032, 2, 1))
    assert not (store / JOURNAL).exists()
    assert (store / ".staging" / f"destroy-{JOURNAL}").is_dir()
    monkeypatch.setattr(store_module, "log_event", real_log)
    with pytest.raises(ArchiveError, match="already archived"):
        create(config, YEAR, renderer=FakeRenderer())  # any writer recovers first
    assert snapshot(store / JOURNAL) == before
    assert "destroy" not in [e["event"] for e in events(open_register(store))]
