"""The simulated school held in memory: plain slotted records plus the indexes the server needs.

Times are school-local naive ISO strings (`2026-09-01T14:07:00`), compared as strings; a
record "exists" at `as_of` when its entry time is before `as_of + 1 day` (`cutoff`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from asurso_sync.simulator.calendar import YearCalendar


def cutoff(as_of: dt.date) -> str:
    """Entries strictly before this string exist at the end of day `as_of`."""
    return (as_of + dt.timedelta(days=1)).isoformat() + "T00:00:00"


@dataclass(slots=True)
class Subject:
    id: int
    name: str
    short: str


@dataclass(slots=True)
class Staff:
    id: int
    name: str  # Фамилия Имя Отчество
    role: str  # "Учитель", "Администратор", "Заместитель директора"

    @property
    def nick(self) -> str:
        """`Петрова М.И.`, as the journal's lastAccess shows a user."""
        last, first, middle = self.name.split()
        return f"{last} {first[0]}.{middle[0]}."


@dataclass(slots=True)
class Klass:
    id: int
    name: str
    grade: int
    letter: str
    chief_id: int = 0


@dataclass(slots=True)
class Student:
    id: int
    name: str
    class_id: int
    added: str  # addedDate (datetime string)
    health_filled: bool
    individual: bool = False


@dataclass(slots=True)
class Group:
    id: int
    name: str
    subject_id: int
    class_id: int
    teacher_ids: tuple[int, ...]
    hours: int
    student_ids: tuple[int, ...]
    term_ids: tuple[int, ...] = ()  # the terms the group is taught in; () = every term


@dataclass(slots=True)
class Lesson:
    id: int
    sg_id: int
    class_id: int
    date: dt.date
    number: int
    term_id: int
    plan_lesson_id: int | None


@dataclass(slots=True)
class Assignment:
    id: int
    lesson_id: int
    type_id: int
    name: str
    weight: int
    due: dt.date
    created: str
    filled_at: str | None = None  # a placeholder topic gets its name later
    filled_name: str | None = None


@dataclass(slots=True)
class Mark:
    assignment_id: int
    student_id: int
    date: str  # first entry; kept when the value changes
    value: int | str | None
    duty: bool = False
    changed_at: str | None = None
    new_value: int | str | None = None
    deleted_at: str | None = None


@dataclass(slots=True)
class Absence:
    lesson_id: int
    student_id: int
    date: str  # first entry; kept when the reason changes
    reason: str
    changed_at: str | None = None
    new_reason: str | None = None


@dataclass(slots=True)
class PeriodMark:
    sg_id: int
    term_id: int
    student_id: int
    date: str
    value: str
    changed_at: str | None = None  # a change is a new entry: the served date moves with it
    new_value: str | None = None


@dataclass(slots=True)
class PlanLesson:
    id: int
    name: str
    hours: int
    last_study_day: dt.date
    task: str


@dataclass(slots=True)
class Plan:
    id: int
    sg_id: int
    created: str
    lessons: list[PlanLesson]


@dataclass(slots=True)
class User:
    """A portal login. `kind` is the account role of `Simulator.accounts`."""

    kind: str
    login: str
    password: str
    id: int
    name: str
    roles: tuple[tuple[int, str], ...]  # (rolegroup id, name); several → choose-session-role
    staff_id: int | None = None  # the staff record behind the staff role
    children: tuple[int, ...] = ()  # pupils a parent sees
    student_id: int | None = None  # a pupil account
    visibility: str = "none"  # "all" (admin, deputy) | "own" (teacher) | "none"


@dataclass(slots=True)
class School:
    size: str
    seed: int
    year_start: int
    school_id: int
    name: str
    short_name: str
    calendar: YearCalendar
    subjects: dict[int, Subject] = field(default_factory=dict)
    staff: dict[int, Staff] = field(default_factory=dict)
    classes: dict[int, Klass] = field(default_factory=dict)
    students: dict[int, Student] = field(default_factory=dict)
    groups: dict[int, Group] = field(default_factory=dict)
    lessons: dict[int, Lesson] = field(default_factory=dict)
    assignments: dict[int, Assignment] = field(default_factory=dict)
    marks: list[Mark] = field(default_factory=list)
    absences: list[Absence] = field(default_factory=list)
    period_marks: list[PeriodMark] = field(default_factory=list)
    plans: dict[int, Plan] = field(default_factory=dict)  # by subject group id
    access: dict[int, list[tuple[str, int]]] = field(
        default_factory=dict
    )  # class -> [(time, staff id)]
    users: list[User] = field(default_factory=list)
    # indexes (built by `index()`)
    lessons_by_group_term: dict[tuple[int, int], list[Lesson]] = field(default_factory=dict)
    lessons_by_group: dict[int, list[Lesson]] = field(default_factory=dict)
    lessons_by_class_day: dict[tuple[int, dt.date], list[Lesson]] = field(default_factory=dict)
    assignments_by_lesson: dict[int, list[Assignment]] = field(default_factory=dict)
    marks_by_assignment: dict[int, list[Mark]] = field(default_factory=dict)
    absences_by_lesson: dict[int, list[Absence]] = field(default_factory=dict)
    period_by_group_term: dict[tuple[int, int], list[PeriodMark]] = field(default_factory=dict)
    groups_by_class: dict[int, list[Group]] = field(default_factory=dict)
    students_by_class: dict[int, list[Student]] = field(default_factory=dict)
    groups_by_student: dict[int, list[int]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def group_terms(self, sg_id: int) -> list[int]:
        """Ids of the terms a subject group is taught in (`subjectgroups` `terms`)."""
        own = self.groups[sg_id].term_ids
        return [t.id for t in self.calendar.terms if not own or t.id in own]

    def index(self) -> None:
        """Build the lookup tables the endpoints answer from (no scans per request)."""
        self.lessons_by_group_term.clear()
        self.lessons_by_group.clear()
        self.lessons_by_class_day.clear()
        for lesson in sorted(self.lessons.values(), key=lambda x: (x.date, x.number, x.id)):
            self.lessons_by_group_term.setdefault((lesson.sg_id, lesson.term_id), []).append(lesson)
            self.lessons_by_group.setdefault(lesson.sg_id, []).append(lesson)
            self.lessons_by_class_day.setdefault((lesson.class_id, lesson.date), []).append(lesson)
        self.assignments_by_lesson.clear()
        for a in self.assignments.values():
            self.assignments_by_lesson.setdefault(a.lesson_id, []).append(a)
        self.marks_by_assignment.clear()
        for m in self.marks:
            self.marks_by_assignment.setdefault(m.assignment_id, []).append(m)
        self.absences_by_lesson.clear()
        for ab in self.absences:
            self.absences_by_lesson.setdefault(ab.lesson_id, []).append(ab)
        self.period_by_group_term.clear()
        for pm in self.period_marks:
            self.period_by_group_term.setdefault((pm.sg_id, pm.term_id), []).append(pm)
        self.groups_by_class.clear()
        self.groups_by_student.clear()
        for g in self.groups.values():
            self.groups_by_class.setdefault(g.class_id, []).append(g)
            for sid in g.student_ids:
                self.groups_by_student.setdefault(sid, []).append(g.id)
        self.students_by_class.clear()
        for s in sorted(self.students.values(), key=lambda x: (x.name, x.id)):
            self.students_by_class.setdefault(s.class_id, []).append(s)
        for entries in self.access.values():
            entries.sort()
