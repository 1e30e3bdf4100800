"""Run the rules over the mirror: build the context, evaluate, attribute, exempt, excuse.

`evaluate()` only reads (plus temp tables); `check()` also records the run and the violations'
lifecycle (`lifecycle.py`). Both return a `CheckResult`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from asurso_sync.errors import AsursoSyncError
from asurso_sync.rules import attendance, changes, lessons, marks, periods, planning, rosters
from asurso_sync.rules.base import Context, Finding, Rule
from asurso_sync.rules.calendar import SchoolCalendar, date_span, install_deadlines
from asurso_sync.rules.settings import RuleSettings
from asurso_sync.rules.unlock import UnlockWindow, read_unlock_register

log = logging.getLogger(__name__)

RULES: tuple[Rule, ...] = (
    *lessons.RULES,
    *marks.RULES,
    *attendance.RULES,
    *periods.RULES,
    *planning.RULES,
    *rosters.RULES,
    *changes.RULES,
)
RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
OK_SYNC = "status NOT IN ('failed', 'running') AND finished_at IS NOT NULL"


@dataclass
class CheckResult:
    as_of: dt.date
    rules: tuple[str, ...]
    findings: list[Finding]
    notices: list[dict[str, str]] = field(default_factory=list)
    fixed: list[dict] = field(default_factory=list)
    check_id: int | None = None

    def counts(self) -> dict[str, dict[str, int]]:
        """{rule: {status: n}} of this check's findings (fixed ones included)."""
        out: dict[str, Counter] = {}
        for f in self.findings:
            out.setdefault(f.rule, Counter())[f.status] += 1
        for row in self.fixed:
            out.setdefault(row["rule"], Counter())["fixed"] += 1
        return {rule: dict(c) for rule, c in sorted(out.items())}


def select_rules(
    rule_ids: list[str] | tuple[str, ...] | None, settings: RuleSettings
) -> tuple[Rule, ...]:
    """The rules to run: those asked for (all by default), minus `[rules] skip`."""
    if rule_ids:
        wanted = [r.upper() for r in rule_ids]
        unknown = sorted(set(wanted) - set(RULES_BY_ID))
        if unknown:
            raise AsursoSyncError(f"unknown rule(s): {', '.join(unknown)} (known: R01–R25)")
        return tuple(r for r in RULES if r.id in wanted)
    return tuple(r for r in RULES if r.id not in settings.skip)


def default_as_of(db: Database, settings: RuleSettings) -> dt.date:
    """The school-local date of the last successful sync."""
    row = db.execute(
        f"SELECT started_at FROM sync_runs WHERE {OK_SYNC} ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if not row or not row[0]:
        raise AsursoSyncError(
            "the mirror has no successful sync yet: run `asurso-sync sync` "
            "first or pass --as-of DATE"
        )
    moment = dt.datetime.fromisoformat(row[0])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(settings.zone).date()


def build_context(db: Database, settings: RuleSettings, as_of: dt.date) -> Context:
    """The context every rule reads, with the deadline temp table installed."""
    # SQLite's UPPER() folds ASCII only: codes compare case-insensitively in Cyrillic too.
    db.conn.create_function("ru_upper", 1, _upper, deterministic=True)
    cal = SchoolCalendar.from_mirror(db, settings)
    ctx = Context(
        db=db,
        settings=settings,
        as_of=as_of,
        cal=cal,
        year_start=_year_start(db, as_of),
        type_ids=_type_ids(db, settings),
    )
    s = settings
    install_deadlines(
        db,
        cal,
        (
            s.topic_days,
            s.hw_days,
            s.att_days,
            s.oral_days,
            s.written_days,
            s.kr_days,
            s.mark_days,
            s.reason_days,
        ),
        date_span(db, as_of),
    )
    _type_notices(ctx)
    return ctx


def _upper(value: str | None) -> str | None:
    return value.upper() if isinstance(value, str) else value


def _year_start(db: Database, as_of: dt.date) -> dt.date:
    rows = db.execute(
        "SELECT start_date, end_date FROM years WHERE deleted_at IS NULL ORDER BY start_date"
    ).fetchall()
    for start, end in rows:
        if start and end and start[:10] <= as_of.isoformat() <= end[:10]:
            return dt.date.fromisoformat(start[:10])
    # Before a year starts (a КТП check in summer) the coming year is the one to check.
    coming = [r[0] for r in rows if r[0] and r[0][:10] > as_of.isoformat()]
    past = [r[0] for r in rows if r[0] and r[0][:10] <= as_of.isoformat()]
    if coming or past:
        return dt.date.fromisoformat((coming[0] if coming else past[-1])[:10])
    return dt.date(as_of.year if as_of.month >= 9 else as_of.year - 1, 9, 1)


def _type_ids(db: Database, s: RuleSettings) -> dict[str, frozenset[int]]:
    """Assignment type ids per role, resolved by NAME (ids differ per server)."""
    by_name: dict[str, set[int]] = {}
    for type_id, name in db.execute(
        "SELECT id, name FROM assignment_types WHERE deleted_at IS NULL"
    ):
        by_name.setdefault((name or "").strip(), set()).add(type_id)

    def ids(names: tuple[str, ...]) -> frozenset[int]:
        return frozenset(i for n in names for i in by_name.get(n, ()))

    # The contract's ids (10 topic, 3 homework) stand in when the type list lacks the name.
    return {
        "topic": ids((s.topic_type,)) or frozenset({10}),
        "homework": ids((s.homework_type,)) or frozenset({3}),
        "oral": ids(s.oral_types),
        "written": ids(s.written_types),
        "kr": ids(s.kr_types),
    }


def _type_notices(ctx: Context) -> None:
    names = {
        n for (n,) in ctx.db.execute("SELECT name FROM assignment_types WHERE deleted_at IS NULL")
    }
    if not names:
        return
    s = ctx.settings
    for key in ("oral_types", "written_types", "kr_types"):
        missing = [n for n in getattr(s, key) if n not in names]
        if missing:
            ctx.notice(
                "R05–R07",
                f"[rules] {key}: типы {', '.join(missing)} отсутствуют в "
                "списке типов заданий портала",
            )
    unknown = ctx.db.execute(
        "SELECT COUNT(DISTINCT a.type_id), COUNT(*) FROM assignments a "
        "LEFT JOIN assignment_types t ON t.id = a.type_id "
        "WHERE a.deleted_at IS NULL AND (t.id IS NULL OR t.known = 0)"
    ).fetchone()
    if unknown and unknown[1]:
        ctx.notice(
            "R05–R08",
            f"{unknown[1]} заданий с неизвестными порталу типами "
            f"({unknown[0]} типов): проверяются только общим правилом R08",
        )


def evaluate(
    db: Database,
    settings: RuleSettings,
    as_of: dt.date | None = None,
    rule_ids: list[str] | tuple[str, ...] | None = None,
) -> CheckResult:
    """Evaluate the rules as of a date without recording anything."""
    as_of = as_of or default_as_of(db, settings)
    rules = select_rules(rule_ids, settings)
    ctx = build_context(db, settings, as_of)
    found: list[Finding] = []
    for r in rules:
        found.extend(r.check(ctx))
    found = _finish(ctx, found)
    log.info("evaluated %d rules as of %s: %d findings", len(rules), as_of, len(found))
    return CheckResult(
        as_of=as_of, rules=tuple(r.id for r in rules), findings=found, notices=ctx.notices
    )


def _finish(ctx: Context, found: list[Finding]) -> list[Finding]:
    """Attribute a teacher, drop exempted findings, excuse entries inside unlock windows."""
    db = ctx.db
    sg_teacher = dict(
        db.execute(
            "SELECT subject_group_id, MIN(teacher_id) FROM subject_group_teachers "
            "WHERE deleted_at IS NULL GROUP BY subject_group_id"
        ).fetchall()
    )
    class_teacher = dict(
        db.execute(
            "SELECT class_id, MIN(teacher_id) FROM class_teachers WHERE deleted_at IS NULL "
            "GROUP BY class_id"
        ).fetchall()
    )
    names = _names(db)
    windows = _windows(ctx)
    group_teachers = _group_teacher_names(db) if windows else {}
    out = []
    for f in found:
        teacher = _addressee_teacher(ctx, f, sg_teacher, class_teacher)
        class_name = names["class"].get(f.class_id, "") if f.class_id is not None else ""
        subject = names["subject"].get(f.subject_id, "") if f.subject_id is not None else ""
        if any(
            (not e.rule or e.rule == f.rule)
            and (not e.subject or e.subject == subject)
            and (not e.class_name or e.class_name == class_name)
            for e in ctx.settings.exempt
        ):
            continue
        excused = None
        if windows and f.entered_at and RULES_BY_ID[f.rule].late_entry:
            who = group_teachers.get(f.subject_group_id, set()) if f.subject_group_id else set()
            if teacher is not None:
                who = who | {str(teacher), names["teacher"].get(teacher, "")}
            excused = next(
                (
                    w.id
                    for w in windows
                    if w.covers(f.rule, f.lesson_date, f.entered_at, who, class_name, subject)
                ),
                None,
            )
        f.teacher_id = teacher
        if excused:
            f.status, f.excused_by = "excused", excused
        out.append(f)
    return out


def _addressee_teacher(
    ctx: Context, f: Finding, sg_teacher: dict[int, int], class_teacher: dict[int, int]
) -> int | None:
    """The teacher a finding goes to, per its rule's addressee (None: the administration)."""
    if f.addressee in ("deputy_director", "administrator"):
        return None
    if f.addressee == "class_teacher" or ctx.settings.attribution == "class_teacher":
        return class_teacher.get(f.class_id) if f.class_id is not None else None
    if f.teacher_id is not None:  # the teacher who held the lesson (T-11), where served
        return f.teacher_id
    return sg_teacher.get(f.subject_group_id) if f.subject_group_id is not None else None


def _names(db: Database) -> dict[str, dict[int, str]]:
    return {
        "class": dict(db.execute("SELECT id, name FROM classes").fetchall()),
        "subject": dict(db.execute("SELECT id, name FROM subjects").fetchall()),
        "teacher": dict(db.execute("SELECT id, name FROM teachers").fetchall()),
    }


def _group_teacher_names(db: Database) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for sg, teacher_id, name in db.execute(
        "SELECT t.subject_group_id, t.teacher_id, te.name FROM subject_group_teachers t "
        "LEFT JOIN teachers te ON te.id = t.teacher_id WHERE t.deleted_at IS NULL"
    ):
        out.setdefault(sg, set()).update({str(teacher_id), name or ""})
    return out


def _windows(ctx: Context) -> list[UnlockWindow]:
    if not ctx.settings.unlock_register:
        return []
    return read_unlock_register(Path(ctx.settings.unlock_register), ctx.settings.unlock_hours)
