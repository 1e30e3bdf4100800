"""The state of each record as served at the end of day `as_of` (shared by app and truth).

These helpers only apply the clock (entry, change and deletion times); they know nothing of
the rules.
"""

from __future__ import annotations

import datetime as dt

from asurso_sync.simulator.model import (
    Absence,
    Assignment,
    Lesson,
    Mark,
    PeriodMark,
    Plan,
    School,
    cutoff,
)


class View:
    """The school at the end of `as_of`: every accessor returns what the portal would show."""

    def __init__(self, school: School, as_of: dt.date) -> None:
        self.school = school
        self.as_of = as_of
        self.cut = cutoff(as_of)

    def lesson_ok(self, lesson: Lesson) -> bool:
        return lesson.date <= self.as_of

    def assignment(self, a: Assignment) -> tuple[str, str] | None:
        """(name, createdDate) or None when not created yet."""
        if a.created >= self.cut:
            return None
        if a.filled_at is not None and a.filled_at < self.cut:
            return a.filled_name or "", a.created
        return a.name, a.created

    def mark(self, m: Mark) -> tuple[int | str | None, str] | None:
        """(mark, date) or None when not entered yet or already deleted."""
        if m.date >= self.cut or (m.deleted_at is not None and m.deleted_at < self.cut):
            return None
        if m.changed_at is not None and m.changed_at < self.cut:
            return m.new_value, m.date
        return m.value, m.date

    def absence(self, ab: Absence) -> tuple[str, str] | None:
        """(reason, date) or None; a changed reason keeps the first entry's date."""
        if ab.date >= self.cut:
            return None
        if ab.changed_at is not None and ab.changed_at < self.cut:
            return ab.new_reason or ab.reason, ab.date
        return ab.reason, ab.date

    def period_mark(self, pm: PeriodMark) -> tuple[str, str] | None:
        """(mark, date) or None; a change is a new entry, so the date moves with it."""
        if pm.date >= self.cut:
            return None
        if pm.changed_at is not None and pm.changed_at < self.cut:
            return pm.new_value or pm.value, pm.changed_at
        return pm.value, pm.date

    def plan(self, sg_id: int) -> Plan | None:
        plan = self.school.plans.get(sg_id)
        return plan if plan is not None and plan.created < self.cut else None

    def group_students(self, sg_id: int) -> list[int]:
        """The journal's pupils of a subject group, sorted by name."""
        students = self.school.students
        ids = [
            sid for sid in self.school.groups[sg_id].student_ids if students[sid].added < self.cut
        ]
        return sorted(ids, key=lambda sid: (students[sid].name, sid))

    def class_students(self, class_id: int) -> list[int]:
        return [s.id for s in self.school.students_by_class.get(class_id, []) if s.added < self.cut]
