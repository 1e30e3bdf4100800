"""End to end against the simulator in process: the mirror holds exactly what the portal serves.

The expected rows are read here from the raw JSON the simulator serves (a sync httpx client over
`httpx.WSGITransport`, its own login code), independently of the client and adapter under test.
"""

from __future__ import annotations

import copy
import datetime as dt
import shutil

import httpx
import pytest
from bs4 import BeautifulSoup
from simclient import logged_in

from asurso_sync.config import PortalSettings
from asurso_sync.demo import sync_simulator
from asurso_sync.errors import AsursoSyncError
from asurso_sync.mirror.db import open_mirror
from asurso_sync.mirror.schema import SYNCED_TABLES
from asurso_sync.simulator import make_app
from asurso_sync.sync.apply import Applier

AS_OF = dt.date(2026, 5, 20)
PLACEHOLDER = "---Не указана---"


# --- an independent reader of what the simulator serves -------------------------------------


def raw_login(app) -> httpx.Client:
    return logged_in(app, "admin")


def served(app, only_classes: int | None = None) -> dict[str, set]:
    """Sets of key tuples per table, straight from the raw answers (of the first
    `only_classes` classes when given)."""
    c = raw_login(app)
    year = c.get("/webapi/years/current").json()
    out: dict[str, set] = {
        k: set()
        for k in (
            "classes",
            "students",
            "subject_groups",
            "lessons",
            "assignments",
            "marks",
            "attendance",
            "period_marks",
            "plan_lessons",
            "terms",
        )
    }
    out["terms"] = {(t["id"], t["termName"]) for t in c.get("/webapi/terms").json()}
    out["journal_access"] = set()
    start, end = dt.date.fromisoformat(year["startDate"][:10]), app.as_of
    for cls in c.get("/webapi/classes", params={"expand": "chiefs"}).json()[:only_classes]:
        out["classes"].add((cls["id"], cls["name"]))
        page = c.post(
            "/asp/Reports/JournalAccess.asp",
            data={
                "AT": c.headers["at"],
                "VER": "1",
                "LoginType": "0",
                "RPTID": "JournalAccess",
                "PCLID": cls["id"],
                "ADT": f"{start.day}.{start.month}.{start.year}",
                "DDT": f"{end.day}.{end.month}.{end.year}",
            },
        ).content
        for tr in BeautifulSoup(page, "html.parser").select("table.table-print tr"):
            cells = [td.get_text(strip=True) for td in tr.find_all("td")]
            if cells:
                when = dt.datetime.strptime(cells[3], "%d.%m.%Y %H:%M").isoformat()
                out["journal_access"].add((cells[0], cells[1], cells[2], when))
        for s in c.get("/webapi/grade/studentList", params={"classId": cls["id"]}).json():
            out["students"].add((s["id"], cls["id"], s["fullName"]))
        groups = c.get(
            "/webapi/subjectgroups", params={"classId": cls["id"], "expand": "teachers,terms"}
        ).json()
        for g in groups:
            out["subject_groups"].add((g["id"], cls["id"], g["subjectId"]))
            plan = c.get("/webapi/subjectplans/getForSubjectGroup", params={"sgId": g["id"]})
            for item in plan.json()["lessons"]:
                out["plan_lessons"].add((item["id"], g["id"], item["lessonName"], item["hours"]))
            for term in g["terms"]:
                page = c.get(
                    "/webapi/grade/journal",
                    params={
                        "yearId": year["id"],
                        "classId": cls["id"],
                        "grade": -1,
                        "sgId": g["id"],
                        "termId": term,
                    },
                ).json()
                for j in page["journals"]:
                    _journal(out, j, g["id"], term)
    return out


def _journal(out: dict[str, set], j: dict, sg: int, term: int) -> None:
    for cm in j["classMeeting"]:
        names = {a["typeId"]: a["assignmentName"] for a in reversed(cm.get("assignments") or [])}
        topic = names.get(10)
        out["lessons"].add(
            (cm["id"], sg, term, cm["date"][:10], None if topic in (None, PLACEHOLDER) else topic)
        )
        for a in cm.get("assignments") or []:
            out["assignments"].add((a["id"], cm["id"], a["typeId"], a["assignmentName"]))
    for m in j["marks"]:
        value = None if m["mark"] is None else str(m["mark"])
        out["marks"].add((m["assignmentId"], m["studentId"], value, int(bool(m["dutyMark"]))))
    for a in j["attendance"]:
        out["attendance"].add((a["classmeetingId"], a["studentId"], a["reason"]))
    for total in j["totals"]:
        for m in total["marks"]:
            out["period_marks"].add((sg, total["termId"], m["studentId"], str(m["mark"])))


def mirrored(db) -> dict[str, set]:
    def q(sql):
        return set(
            db.execute(
                sql + (" AND" if "WHERE" in sql else " WHERE") + " deleted_at IS NULL"
            ).fetchall()
        )

    return {
        "terms": q("SELECT id, name FROM terms"),
        "classes": q("SELECT id, name FROM classes"),
        "students": q("SELECT id, class_id, full_name FROM students"),
        "subject_groups": q("SELECT id, class_id, subject_id FROM subject_groups"),
        "lessons": q("SELECT id, subject_group_id, term_id, date, topic FROM lessons"),
        "assignments": q("SELECT id, lesson_id, type_id, name FROM assignments"),
        "marks": q("SELECT assignment_id, student_id, mark, duty_mark FROM marks"),
        "attendance": q("SELECT lesson_id, student_id, reason FROM attendance"),
        "period_marks": q("SELECT subject_group_id, term_id, student_id, mark FROM period_marks"),
        "plan_lessons": q("SELECT id, subject_group_id, name, hours FROM plan_lessons"),
        "journal_access": q("SELECT user_name, role, class_name, entered_at FROM journal_access"),
    }


def content(db) -> dict[str, list]:
    """Every synced table without its bookkeeping columns: what «same content» means."""
    skip = {"first_seen_at", "last_seen_at", "first_seen_run", "last_seen_run", "last_absent_at"}
    out = {}
    for table in SYNCED_TABLES:
        cols = [c.name for c in db[table].columns if c.name not in skip]
        out[table] = sorted(
            db.execute(f"SELECT {', '.join(cols)} FROM [{table}]").fetchall(), key=repr
        )
    return out


# --- tests ----------------------------------------------------------------------------------


def test_full_sync_mirrors_everything_the_simulator_serves(small_school, small_mirror):
    expected = served(make_app(small_school, as_of=AS_OF, latency_ms=0))
    db = open_mirror(small_mirror)
    got = mirrored(db)
    for table in expected:
        assert got[table] == expected[table], table
    assert all(
        expected[t]
        for t in (
            "classes",
            "students",
            "lessons",
            "marks",
            "attendance",
            "period_marks",
            "plan_lessons",
            "journal_access",
        )
    )
    run = db["sync_runs"].get(1)
    assert (run["status"], run["mode"], run["error"]) == ("ok", "full", None)
    assert db.execute("SELECT count(*) FROM changes").fetchone()[0] == 0


@pytest.mark.slow
def test_school_size_full_sync_matches_what_is_served(school_school, school_mirror):
    expected = served(make_app(school_school, as_of=dt.date(2026, 6, 30)), only_classes=3)
    class_ids = {c for c, _ in expected["classes"]}
    sgs = {g for g, _, _ in expected["subject_groups"]}
    got = mirrored(open_mirror(school_mirror))
    keep = {
        "classes": lambda r: r[0] in class_ids,
        "students": lambda r: r[1] in class_ids,
        "subject_groups": lambda r: r[1] in class_ids,
        "lessons": lambda r: r[1] in sgs,
        "plan_lessons": lambda r: r[1] in sgs,
        "period_marks": lambda r: r[0] in sgs,
        "journal_access": lambda r: r[2] in {n for _, n in expected["classes"]},
    }
    lessons = {r[0] for r in expected["lessons"]}
    assignments = {r[0] for r in expected["assignments"]}
    keep.update(
        assignments=lambda r: r[1] in lessons,
        attendance=lambda r: r[0] in lessons,
        marks=lambda r: r[0] in assignments,
        terms=lambda r: True,
    )
    for table, rows in expected.items():
        assert {r for r in got[table] if keep[table](r)} == rows, table
    assert len(expected["marks"]) > 10000


def test_entry_times_come_from_the_portal(small_mirror):
    db = open_mirror(small_mirror)
    sources = dict(db.execute("SELECT entered_source, count(*) FROM marks GROUP BY 1").fetchall())
    assert set(sources) == {"portal"}


def test_a_week_later_changes_record_exactly_the_new_changed_deleted_marks(small_school, tmp_path):
    before, after = dt.date(2026, 4, 22), dt.date(2026, 4, 29)
    app = make_app(small_school, as_of=before, latency_ms=0)
    old = {(a, s): (m, d) for a, s, m, d in served(app)["marks"]}
    path = tmp_path / "m.db"
    sync_simulator(path, app=app, as_of=before)
    app.set_as_of(after)
    new = {(a, s): (m, d) for a, s, m, d in served(app)["marks"]}
    result = sync_simulator(path, app=app, as_of=after)
    db = open_mirror(path)
    rows = db.execute(
        "SELECT kind, row_key, column_name, old_value, new_value FROM changes "
        "WHERE table_name = 'marks' AND run_id = ?",
        [result.run_id],
    ).fetchall()
    import json

    def keys(kind):
        return {tuple(json.loads(k)) for kd, k, *_ in rows if kd == kind}

    assert keys("insert") == set(new) - set(old)
    assert keys("delete") == set(old) - set(new)
    changed = {k for k in set(old) & set(new) if old[k] != new[k]}
    assert keys("update") == changed
    assert keys("insert") and keys("update") and keys("delete")
    for kind, key, column, old_value, new_value in rows:
        if kind == "update" and column == "mark":
            assert (old_value, new_value) == (
                old[tuple(json.loads(key))][0],
                new[tuple(json.loads(key))][0],
            )


def test_incremental_sync_fetches_current_and_previous_term_only(small_school, tmp_path):
    result = sync_simulator(tmp_path / "m.db", small_school, AS_OF, full=False)
    db = open_mirror(tmp_path / "m.db")
    terms = [
        r[0]
        for r in db.execute(
            "SELECT DISTINCT t.name FROM lessons l JOIN terms t ON t.id = l.term_id ORDER BY 1"
        )
    ]
    assert terms == ["3 четверть", "4 четверть"]
    assert result.mode == "incremental"


@pytest.fixture(scope="module")
def two_step_reference(small_school, tmp_path_factory):
    """A fault-free sync as of 6 May, then as of 20 May: what every faulted second run must
    equal when it succeeds (same clock, so even the bookkeeping of deletions matches)."""
    folder = tmp_path_factory.mktemp("reference")
    path, first = folder / "m.db", folder / "first.db"
    sync_simulator(path, small_school, dt.date(2026, 5, 6))
    db = open_mirror(path)
    before = content(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    shutil.copyfile(path, first)
    sync_simulator(path, small_school, AS_OF)
    return first, before, content(open_mirror(path))


@pytest.mark.parametrize(
    "fault",
    ["5xx", "timeout", "expire", "security", "roles", "blocked", "truncated", "nonjson", "layout"],
)
def test_each_fault_gives_the_same_mirror_or_one_clear_message(
    fault, small_school, two_step_reference, tmp_path
):
    from asurso_sync.config import PortalSettings

    first, before, reference = two_step_reference
    path = tmp_path / "m.db"
    shutil.copyfile(first, path)
    spec = f"{fault}=0.1,seed=3" + (",hang_s=0.6" if fault == "timeout" else "")
    settings = PortalSettings(base_url="http://simulator.test", timeout_s=0.3, max_retries=4)
    try:
        sync_simulator(path, small_school, AS_OF, faults=spec, settings=settings)
    except AsursoSyncError as exc:
        message = str(exc)
        assert "\n" not in message and message
        db = open_mirror(path)
        assert content(db) == before
        last = list(db.query("SELECT status, error FROM sync_runs ORDER BY id DESC LIMIT 1"))
        assert last == [{"status": "failed", "error": message}]
    else:
        assert content(open_mirror(path)) == reference


def _indexes(path) -> list[tuple]:
    db = open_mirror(path, readonly=True)
    try:
        return db.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        ).fetchall()
    finally:
        db.close()


def test_a_first_sync_ends_with_every_index_of_a_new_mirror(small_school, small_mirror, tmp_path):
    """A first sync builds the indexes it never reads once at its end instead of row by row; a
    first sync that fails rolls that back with the rest: either way the mirror has every index
    a new mirror has."""
    open_mirror(tmp_path / "new.db").close()
    new = _indexes(tmp_path / "new.db")
    assert {"idx_marks_student_id", "idx_attendance_student_id"} <= {n for n, _, _ in new}
    assert _indexes(small_mirror) == new
    failed = tmp_path / "failed.db"
    settings = PortalSettings(base_url="http://simulator.test", max_retries=1)
    with pytest.raises(AsursoSyncError):
        sync_simulator(failed, small_school, AS_OF, faults="5xx=1,seed=1", settings=settings)
    assert _indexes(failed) == new
    assert open_mirror(failed).execute("SELECT count(*) FROM marks").fetchone() == (0,)


def test_a_first_sync_reads_back_a_scope_that_comes_twice(
    small_school, small_mirror, tmp_path, monkeypatch
):
    """A first sync saves each journal scope without reading it back (the mirror held
    nothing); should one scope come twice in a run, its second answer is compared with the
    first, not inserted again: the run ends ok with the mirror a single pass makes."""
    apply = Applier.apply
    repeated = []

    def apply_first_journal_twice(self, item):
        again = copy.deepcopy(item)
        apply(self, item)
        if item.kind == "journal" and not repeated:
            repeated.append(item.scope)
            apply(self, again)

    monkeypatch.setattr(Applier, "apply", apply_first_journal_twice)
    open_mirror(tmp_path / "new.db").close()
    path = tmp_path / "m.db"
    sync_simulator(path, small_school, AS_OF)
    assert len(repeated) == 1
    db = open_mirror(path)
    runs = list(db.query("SELECT status, error FROM sync_runs"))
    assert runs == [{"status": "ok", "error": None}]
    assert db.execute("SELECT count(*) FROM sync_skipped_scopes").fetchone() == (0,)
    assert content(db) == content(open_mirror(small_mirror))
    assert _indexes(path) == _indexes(tmp_path / "new.db")


def test_a_first_sync_failing_among_the_journals_leaves_every_index(
    small_school, tmp_path, monkeypatch
):
    """The indexes a first import leaves out while journals arrive come back with the
    rollback of a run that fails half-way."""
    apply = Applier.apply
    journals = []

    def fail_at_the_third_journal(self, item):
        if item.kind == "journal":
            journals.append(item.scope)
            if len(journals) == 3:
                raise OSError("disk full")
        apply(self, item)

    monkeypatch.setattr(Applier, "apply", fail_at_the_third_journal)
    open_mirror(tmp_path / "new.db").close()
    path = tmp_path / "m.db"
    with pytest.raises(OSError, match="disk full"):
        sync_simulator(path, small_school, AS_OF)
    assert _indexes(path) == _indexes(tmp_path / "new.db")
    db = open_mirror(path)
    assert db.execute("SELECT count(*) FROM lessons").fetchone() == (0,)
    assert list(db.query("SELECT status FROM sync_runs")) == [{"status": "failed"}]


def _journal_modes_while_saving(monkeypatch) -> list[str]:
    """Record the mirror's journal mode as the first batch is saved."""
    apply = Applier.apply
    modes: list[str] = []

    def apply_and_look(self, item):
        if not modes:
            modes.append(self.db.execute("PRAGMA journal_mode").fetchone()[0])
        apply(self, item)

    monkeypatch.setattr(Applier, "apply", apply_and_look)
    return modes


def test_a_first_import_writes_the_file_once_and_leaves_a_wal_mirror(
    small_school, small_mirror, tmp_path, monkeypatch
):
    """An empty mirror's first import goes through the rollback journal (each page written
    once); the mirror is a WAL mirror again afterwards, readable by its owner only."""
    modes = _journal_modes_while_saving(monkeypatch)
    path = tmp_path / "m.db"
    sync_simulator(path, small_school, AS_OF)
    assert modes == ["delete"]
    db = open_mirror(path, readonly=True)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert content(db) == content(open_mirror(small_mirror))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not (tmp_path / "m.db-journal").exists()


def test_a_first_import_with_a_reader_open_stays_in_wal(small_school, tmp_path, monkeypatch):
    """Somebody has the new mirror open (the web page): the first import neither waits for
    them nor changes the journal under them."""
    modes = _journal_modes_while_saving(monkeypatch)
    path = tmp_path / "m.db"
    open_mirror(path).close()
    reader = open_mirror(path, readonly=True)
    try:
        sync_simulator(path, small_school, AS_OF)
        assert reader.execute("SELECT count(*) > 0 FROM marks").fetchone() == (1,)
    finally:
        reader.close()
    assert modes == ["wal"]
    assert open_mirror(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_second_sync_stays_in_wal(small_school, small_mirror, tmp_path, monkeypatch):
    modes = _journal_modes_while_saving(monkeypatch)
    path = tmp_path / "m.db"
    shutil.copyfile(small_mirror, path)
    sync_simulator(path, small_school, AS_OF + dt.timedelta(days=1))
    assert modes == ["wal"]


def test_a_failed_run_leaves_the_mirror_unchanged(small_school, small_mirror, tmp_path):
    path = tmp_path / "asurso.db"
    shutil.copyfile(small_mirror, path)
    before = content(open_mirror(path))
    from asurso_sync.config import PortalSettings

    settings = PortalSettings(base_url="http://simulator.test", max_retries=1)
    with pytest.raises(AsursoSyncError) as info:
        sync_simulator(
            path, small_school, dt.date(2026, 5, 27), faults="5xx=1,seed=1", settings=settings
        )
    db = open_mirror(path)
    assert content(db) == before
    assert list(db.query("SELECT status, error FROM sync_runs WHERE id = 2")) == [
        {"status": "failed", "error": str(info.value)}
    ]


@pytest.mark.parametrize(
    "spec,error,message",
    [
        (
            "blocked=1",
            "PortalRefused",
            "the portal refused this address (HTTP 403 page on logindata): a firewall may block this "
            "network; run the sync from the school's network or ask the portal's operator to allow it",
        ),
        ("layout=1", "LayoutError", "the portal's answer to years/current has no key 'id'"),
        (
            "nonjson=1",
            "PortalError",
            "the portal's answer to context is not valid JSON (truncated "
            "or an HTML page) even after retries",
        ),
        (
            "timeout=1,hang_s=0.5",
            "PortalError",
            "the request to logindata timed out after 2 "
            "attempts (ReadTimeout); is http://simulator.test reachable?",
        ),
        ("expire=1", "PortalError", "the portal keeps ending the session (context)"),
    ],
)
def test_a_fault_that_never_stops_is_one_clear_message(
    spec, error, message, small_school, tmp_path
):
    from asurso_sync.config import PortalSettings

    settings = PortalSettings(base_url="http://simulator.test", max_retries=1, timeout_s=0.3)
    with pytest.raises(AsursoSyncError) as info:
        sync_simulator(tmp_path / "m.db", small_school, AS_OF, faults=spec, settings=settings)
    assert (type(info.value).__name__, str(info.value)) == (error, message)
    db = open_mirror(tmp_path / "m.db")
    assert list(db.query("SELECT status, error FROM sync_runs")) == [
        {"status": "failed", "error": message}
    ]
    assert all(db[t].count == 0 for t in SYNCED_TABLES)
