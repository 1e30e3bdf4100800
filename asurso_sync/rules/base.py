"""What a rule is (`Rule`), what it finds (`Finding`) and what it reads (`Context`).

Every rule of the regulation is one declared `Rule` object; its `check(ctx)` runs one SQL query
over the mirror (school-local dates, deadlines from the temp table of `calendar.py`) and turns
the rows into `Finding`s through `findings_from_rows`, which also decides the evidence level.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from asurso_sync.rules.calendar import SchoolCalendar
from asurso_sync.rules.settings import EVIDENCE_LEVELS, RuleSettings, month_day

FIELDS = (
    "class_id",
    "subject_group_id",
    "subject_id",
    "teacher_id",
    "lesson_id",
    "assignment_id",
    "student_id",
    "term_id",
    "plan_lesson_id",
    "notice_id",
)


@dataclass(slots=True)
class Finding:
    """One breach of one rule, identified by (rule, key fields).

    Mutable on purpose: the engine sets teacher and status on ~10^4 findings per check, and
    `dataclasses.replace` for each was the slowest part of recording a check.
    """

    rule: str
    severity: str
    key: tuple
    class_id: int | None = None
    subject_group_id: int | None = None
    subject_id: int | None = None
    teacher_id: int | None = None
    lesson_id: int | None = None
    assignment_id: int | None = None
    student_id: int | None = None
    term_id: int | None = None
    plan_lesson_id: int | None = None
    notice_id: str | None = None
    object_id: int | None = None
    lesson_date: str | None = None
    deadline: str | None = None
    entered_at: str | None = None
    evidence: str = "portal"
    certainty: str = "certain"
    detail: str = ""
    status: str = "new"
    excused_by: str | None = None
    addressee: str = "subject_teacher"
    deadline_source: str = "none"

    @property
    def id(self) -> str:
        """Stable id: the same breach gets the same id at every check."""
        text = json.dumps([self.rule, *self.key], ensure_ascii=False)
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class Context:
    """What every rule reads: the mirror, the settings, the as-of date and resolved type ids."""

    db: Database
    settings: RuleSettings
    as_of: dt.date
    cal: SchoolCalendar
    year_start: dt.date
    type_ids: dict[str, frozenset[int]] = field(default_factory=dict)
    notices: list[dict[str, str]] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)  # rows rules share within one check

    @property
    def asof(self) -> str:
        return self.as_of.isoformat()

    @property
    def asof_end(self) -> str:
        """Sorts after every school-local time of the as-of day (naive ISO strings)."""
        return f"{self.as_of.isoformat()}T24:00:00"

    def school_date(self, month_day_value: str) -> dt.date | None:
        """A `MM-DD` setting in the calendar year the school year starts in."""
        return month_day(self.year_start.year, month_day_value)

    def ids(self, name: str) -> str:
        """A type-id set as an SQL literal list (ints only, so safe to inline)."""
        values = sorted(self.type_ids.get(name, frozenset())) or [-1]
        return "(" + ", ".join(str(int(v)) for v in values) + ")"

    def notice(self, rule: str, text: str) -> None:
        self.notices.append({"rule": rule, "text": text})

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> Iterator[dict]:
        cursor = self.db.execute(sql, dict(params or {}))
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))


# Who a remark is addressed to (the Положение's roles) and the Russian words for them.
ADDRESSEES = {
    "subject_teacher": "учитель-предметник",
    "class_teacher": "классный руководитель",
    "deputy_director": "заместитель директора по УВР",
    "administrator": "администратор АСУ РСО",
}
# Where a deadline comes from: the text of the Положение (its clause), a school setting the text
# leaves open (`deadline_setting` names the `[rules]` key), or no deadline at all.
DEADLINE_SOURCES = ("regulation", "setting", "none")


@dataclass(frozen=True)
class Rule:
    """One rule of the regulation as the report shows it.

    `clause` cites the Положение (empty when the text says nothing of the kind);
    `deadline_source` says whether the deadline is the regulation's (`regulation`, its number
    from `clause`), a school setting (`setting`, named by `deadline_setting`) or none;
    `addressee` is the role the remark goes to (a key of ADDRESSEES).
    """

    id: str
    title: str
    clause: str
    severity: str
    family: str
    key_fields: tuple[str, ...]
    config_keys: tuple[str, ...]
    check: Callable[[Context], Iterable[Finding]]
    object_field: str | None = None
    late_entry: bool = False  # findings rest on an entry time
    addressee: str = "subject_teacher"
    deadline_source: str = "none"
    deadline_setting: str = ""
    # the value the text itself gives `deadline_setting` (None: the text gives none)
    deadline_default: Any = None
    # other `[rules]` keys that can set the deadline instead (R13: a school order's date)
    deadline_overrides: tuple[str, ...] = ()

    def deadline_source_for(self, settings: RuleSettings) -> str:
        """`regulation`, unless the school changed the regulation's value: then `setting`."""
        if self.deadline_source != "regulation" or not self.deadline_setting:
            return self.deadline_source
        if self.deadline_default is None:
            return self.deadline_source
        value = getattr(settings, self.deadline_setting, None)
        return "regulation" if value == self.deadline_default else "setting"


def deadline_label(rule: Rule, source: str | None = None) -> str:
    """What D1's «Срок» column says of a rule's deadline: the clause, or the school's setting."""
    source = source or rule.deadline_source
    if source == "regulation":
        return rule.clause
    if source == "setting":
        keys = ", ".join(k for k in (rule.deadline_setting, *rule.deadline_overrides) if k)
        return f"по настройке школы ([rules] {keys})"
    return "срок не установлен"


def evidence_of(row: Mapping[str, Any], early: bool = False) -> tuple[str, str]:
    """(evidence, certainty) of a row: portal date, a sync's observation, or unknown.

    An observed entry is known to lie in (last_absent_at, entered_at]: it is certainly late when
    even last_absent_at is after the deadline, possibly late otherwise. An early entry (R09)
    observed before the lesson day is certain: the real entry happened no later.
    """
    source = row.get("entered_source")
    if source is None or source == "portal":
        return "portal", "certain"
    if source == "observed":
        if early:
            return "observed", "certain"
        absent, deadline_at = row.get("last_absent_at"), row.get("deadline_at")
        if absent and deadline_at and absent > deadline_at:
            return "observed", "certain"
        return "observed", "possible"
    return "unknown", "unknown"


def findings_from_rows(
    ctx: Context, rule: Rule, rows: Iterable[Mapping[str, Any]], early: bool = False
) -> Iterator[Finding]:
    """Rows named like Finding's fields → Findings, below the configured evidence level."""
    limit = EVIDENCE_LEVELS.index(ctx.settings.evidence)
    source = rule.deadline_source_for(ctx.settings)
    for row in rows:
        evidence, certainty = evidence_of(row, early)
        if EVIDENCE_LEVELS.index(certainty) > limit:
            continue
        values: dict[str, Any] = {name: row.get(name) for name in FIELDS}
        key = tuple(values[name] for name in rule.key_fields)
        yield Finding(
            rule=rule.id,
            severity=row.get("severity") or rule.severity,
            key=key,
            object_id=row.get(rule.object_field) if rule.object_field else None,
            lesson_date=row.get("lesson_date"),
            deadline=row.get("deadline"),
            entered_at=row.get("entered_at"),
            evidence=evidence,
            certainty=certainty,
            detail=row.get("detail") or "",
            addressee=rule.addressee,
            deadline_source=row.get("deadline_source") or source,
            **values,
        )


def rule(**meta: Any) -> Callable[[Callable[[Context, Rule], Iterable[Finding]]], Rule]:
    """Declare a rule: the decorated function gets the context and its own Rule object."""

    def wrap(fn: Callable[[Context, Rule], Iterable[Finding]]) -> Rule:
        holder: dict[str, Rule] = {}
        declared = Rule(check=lambda ctx: fn(ctx, holder["rule"]), **meta)
        holder["rule"] = declared
        return declared

    return wrap
