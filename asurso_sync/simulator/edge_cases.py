"""The small school's edge cases: the records that decide how the rule table is read.

They take ids after every other record and draw from a random stream of their own, so the rest
of the school is the same with or without them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Protocol

from asurso_sync.simulator import names as N
from asurso_sync.simulator.calendar import DAY, Period
from asurso_sync.simulator.draw import LETTERS, Ids, after_lesson, person, some_time, ts
from asurso_sync.simulator.model import (
    Absence,
    Assignment,
    Group,
    Klass,
    Lesson,
    Mark,
    PeriodMark,
    Plan,
    PlanLesson,
    School,
    Student,
)


class JournalBuilder(Protocol):
    """What the edge cases use of the generator run (`generate._Builder`)."""

    s: School
    study_days: list[dt.date]
    subject_ids: dict[str, int]
    timetable: dict[int, dict[int, list[tuple[int, str]]]]
    lesson_id: Ids
    plan_lesson_id: Ids

    def topic_names(self, gid: int, n: int) -> list[str]: ...

    def new_assignment(
        self,
        lesson: Lesson,
        type_id: int,
        name: str,
        weight: int,
        created: str,
        due: dt.date | None = None,
    ) -> Assignment: ...


class EdgeCases:
    """Cases of the small school that decide how the rule table is read (docs/design.md):
    a second, late topic beside an on-time named one (R01: no breach); homework with an empty
    or placeholder name (R02: no homework); a half-year subject group taught in two terms only
    (R13/R18 use the group's own terms); a class with no pupils at all (R21, R20); a pupil
    listed before 5 Sep without a health group (R21 only once 5 Sep has passed); and the
    cases of issue 13: the same course's second-half-year group (terms 3–4, no КТП: no
    subgroups, no 31 August deadline), two pupils joining the first class late (one in the last
    days of term 1, one in term 2: no term-1 mark owed), a reason «УП» the class teacher enters
    days later with no «Н» before it (no late absence of the subject teacher), an English topic
    and homework written in English (R25), and a current mark «осв» in lower case (R11).

    They take ids after every other record and draw from their own random stream, so the rest
    of the school is unchanged by them.
    """

    def __init__(self, builder: JournalBuilder) -> None:
        s = builder.s
        self.b = builder
        self.s = s
        self.rng = random.Random(f"asurso-sim/{s.size}/{s.seed}/{s.year_start}/edges")
        self.unlock_windows: list[dict[str, str]] = []
        self.by_lesson: dict[int, list[Assignment]] = {}
        for a in s.assignments.values():
            self.by_lesson.setdefault(a.lesson_id, []).append(a)

    def add_journal_cases(self) -> None:
        self.second_late_topic()
        self.unnamed_homework()
        self.half_year_group()
        self.second_half_year_group()
        self.health_unfilled_on_time()
        self.class_teacher_reason()
        self.english_entries()
        self.osv_mark()
        self.late_own_entries()
        self.unlock_window()
        self.late_joiners()

    def _lessons_in_middle_terms(self) -> list[Lesson]:
        terms = self.s.calendar.terms
        start, end = terms[1].start, terms[2].end
        return [
            les
            for les in sorted(self.s.lessons.values(), key=lambda x: x.id)
            if start <= les.date <= end
        ]

    def _by_type(self, lesson: Lesson, type_id: int) -> list[Assignment]:
        return [a for a in self.by_lesson.get(lesson.id, ()) if a.type_id == type_id]

    def second_late_topic(self) -> None:
        """An on-time named topic, and a second typeId 10 task created two days later."""
        candidates = []
        for lesson in self._lessons_in_middle_terms():
            topics = self._by_type(lesson, 10)
            if (
                len(topics) == 1
                and topics[0].name != N.PLACEHOLDER
                and topics[0].filled_at is None
                and topics[0].created[:10] == lesson.date.isoformat()
            ):
                candidates.append((lesson, topics[0]))
        lesson, topic = self.rng.choice(candidates)
        created = some_time(self.rng, lesson.date + 2 * DAY)
        self.b.new_assignment(lesson, 10, f"Работа над ошибками: {topic.name}", 10, created)

    def unnamed_homework(self) -> None:
        """Homework given on the day but with an empty and a placeholder name."""
        candidates = []
        for lesson in self._lessons_in_middle_terms():
            topics = self._by_type(lesson, 10)
            if (
                not self._by_type(lesson, 3)
                and topics
                and self.s.subjects[self.s.groups[lesson.sg_id].subject_id].name != N.PE
            ):
                candidates.append((lesson, topics[0]))
        for (lesson, topic), name in zip(
            self.rng.sample(candidates, 2), ("", N.PLACEHOLDER), strict=True
        ):
            created = min(topic.created, ts(lesson.date, 20 * 60))
            self.b.new_assignment(lesson, 3, name, 10, created, due=lesson.date + 2 * DAY)

    def half_year_group(self) -> None:
        """A first-half-year course (terms 1–2) of the first class, one lesson of term 2 not
        held (R18 for term 2 only: the group is in no later term, so no R13 there either)."""
        b, s, rng = self.b, self.s, self.rng
        k = s.classes[min(s.classes)]
        subject = "Информатика"
        maths = next(
            g
            for g in s.groups.values()
            if g.class_id == k.id and s.subjects[g.subject_id].name == "Математика"
        )
        terms = s.calendar.terms[:2]
        weekday = 3  # Thursday, after the class's last lesson
        number = len(b.timetable[k.id][weekday]) + 1
        slots = [
            day
            for day in b.study_days
            if day.weekday() == weekday
            and day > dt.date(s.year_start, 9, 7)
            and terms[0].start <= day <= terms[-1].end
        ]
        g = Group(
            max(s.groups) + 1,
            f"{k.name}/{subject}",
            b.subject_ids[subject],
            k.id,
            maths.teacher_ids,
            len(slots),
            maths.student_ids,
            tuple(t.id for t in terms),
        )
        s.groups[g.id] = g
        names = b.topic_names(g.id, len(slots))
        created = some_time(rng, dt.date(s.year_start, 6, rng.randint(1, 26)))
        plan_lessons = [
            PlanLesson(b.plan_lesson_id(), name, 1, day, self.task())
            for day, name in zip(slots, names, strict=True)
        ]
        s.plans[g.id] = Plan(7000 + g.id, g.id, created, plan_lessons)
        in_last = [i for i, day in enumerate(slots) if terms[-1].start <= day]
        cancelled = rng.choice(in_last)
        for i, (day, name) in enumerate(zip(slots, names, strict=True)):
            if i == cancelled:
                continue
            self._held_on_time(g, day, number, name, plan_lessons[i].id)
        self._period_marks_before_the_end(g, terms)

    def _held_on_time(
        self, g: Group, day: dt.date, number: int, name: str, plan_lesson_id: int | None
    ) -> None:
        """A lesson held, with its topic and homework entered on the day."""
        b, s = self.b, self.s
        term = s.calendar.term_at(day)
        lesson = Lesson(b.lesson_id(), g.id, g.class_id, day, number, term.id, plan_lesson_id)
        s.lessons[lesson.id] = lesson
        entry = after_lesson(self.rng, day, number)
        b.new_assignment(lesson, 10, name, 10, entry)
        b.new_assignment(lesson, 3, self.task(), 10, entry, due=day + 7 * DAY)

    def _period_marks_before_the_end(self, g: Group, terms: Sequence[Period]) -> None:
        """Every pupil's period mark, entered four to eight days before each term ends."""
        rng = self.rng
        for term in terms:
            day = term.end - rng.randint(4, 8) * DAY
            start = rng.randint(10 * 60, 19 * 60)
            for i, sid in enumerate(g.student_ids):
                value = rng.choice(("4", "5"))
                self.s.period_marks.append(
                    PeriodMark(g.id, term.id, sid, ts(day, start + i), value)
                )

    def second_half_year_group(self) -> None:
        """The same course in the second half-year (terms 3–4), same pupils, no КТП: not a
        subgroup of the first one, and not held to the 31 August КТП deadline."""
        b, s = self.b, self.s
        first = s.groups[max(s.groups)]  # the first-half-year group made just before
        terms = s.calendar.terms[2:]
        weekday = 3
        number = len(b.timetable[first.class_id][weekday]) + 1
        slots = [
            day
            for day in b.study_days
            if day.weekday() == weekday and terms[0].start <= day <= terms[-1].end
        ]
        g = Group(
            max(s.groups) + 1,
            first.name,
            first.subject_id,
            first.class_id,
            first.teacher_ids,
            len(slots),
            first.student_ids,
            tuple(t.id for t in terms),
        )
        s.groups[g.id] = g
        for day, name in zip(slots, b.topic_names(g.id, len(slots)), strict=True):
            self._held_on_time(g, day, number, name, None)
        self._period_marks_before_the_end(g, terms)

    def class_teacher_reason(self) -> None:
        """A reason «УП» entered by the class teacher three days after the lesson, with no «Н»
        before it (п. 7.3): the class teacher's entry, not a late absence (R04)."""
        s = self.s
        taken = {(ab.lesson_id, ab.student_id) for ab in s.absences}
        lessons = self._lessons_in_middle_terms()
        for lesson in self.rng.sample(lessons, len(lessons)):
            free = [
                sid for sid in s.groups[lesson.sg_id].student_ids if (lesson.id, sid) not in taken
            ]
            if free:
                sid = self.rng.choice(free)
                entered = some_time(self.rng, lesson.date + 3 * DAY)
                s.absences.append(Absence(lesson.id, sid, entered, "УП"))
                return

    def english_entries(self) -> None:
        """An English lesson's topic and another's homework written in English (7.4: «все
        записи … на русском языке», foreign-language lessons included)."""
        english = self.b.subject_ids["Английский язык"]
        lessons = [
            les
            for les in self._lessons_in_middle_terms()
            if self.s.groups[les.sg_id].subject_id == english
        ]
        picks = iter(self.rng.sample(lessons, len(lessons)))
        for type_id, text in ((10, "Present Simple"), (3, "p. 45 ex. 3")):
            for lesson in picks:
                found = [
                    a
                    for a in self._by_type(lesson, type_id)
                    if a.filled_at is None and a.name.strip() and a.name != N.PLACEHOLDER
                ]
                if found:
                    found[0].name = text
                    break

    def osv_mark(self) -> None:
        """A current mark «осв» in lower case, where the text forbids «осв» (Регламент п. 7)."""
        pe = self.b.subject_ids[N.PE]
        marks = [
            m
            for m in self.s.marks
            if m.value is not None
            and m.changed_at is None
            and m.deleted_at is None
            and self.s.groups[
                self.s.lessons[self.s.assignments[m.assignment_id].lesson_id].sg_id
            ].subject_id
            == pe
        ]
        self.rng.choice(marks).value = "осв"

    def late_own_entries(self) -> None:
        """The subject teacher's own late entries, whatever the seed: a lateness «О» marked two
        days after the lesson (R04) and a mark on homework (no type rule) nine days late (R08
        only: one late mark, one remark)."""
        s, rng = self.s, self.rng
        taken = {(ab.lesson_id, ab.student_id) for ab in s.absences}
        marked = {(m.assignment_id, m.student_id) for m in s.marks}
        lessons = self._lessons_in_middle_terms()
        for lesson in rng.sample(lessons, len(lessons)):
            free = [
                sid for sid in s.groups[lesson.sg_id].student_ids if (lesson.id, sid) not in taken
            ]
            if free:
                late = some_time(rng, lesson.date + 2 * DAY)
                s.absences.append(Absence(lesson.id, rng.choice(free), late, "О"))
                break
        for lesson in rng.sample(lessons, len(lessons)):
            homework = self._by_type(lesson, 3)
            pupils = s.groups[lesson.sg_id].student_ids
            free = [sid for sid in pupils if homework and (homework[0].id, sid) not in marked]
            if free:
                late = some_time(rng, lesson.date + 9 * DAY)
                s.marks.append(Mark(homework[0].id, rng.choice(free), late, rng.choice((4, 5))))
                break

    def unlock_window(self) -> None:
        """The administrator opens one lesson date for 12 hours (п. 7.4) ten days after the
        lesson, and the teacher enters marks: homework marks inside the window (excused under
        the 7-day lock, R08), one after it closes, one for another date of the same group, and
        a written work inside it (R06: the unlock is not for the 5-day rule). The window is in
        `school.info["unlock_windows"]`, as a school's unlock register would hold it."""
        s, rng = self.s, self.rng
        marked = {(m.assignment_id, m.student_id) for m in s.marks}
        by_group: dict[int, list[Lesson]] = {}
        for lesson in self._lessons_in_middle_terms():
            by_group.setdefault(lesson.sg_id, []).append(lesson)
        written = next(t for t, (name, _abbr) in N.ASSIGNMENT_TYPES.items() if name == "Диктант")
        for sg_id in sorted(by_group, key=lambda g: rng.random()):
            lessons = [les for les in by_group[sg_id] if self._by_type(les, 3)]
            pupils = s.groups[sg_id].student_ids
            if len(lessons) < 2 or len(pupils) < 4:
                continue
            other = lessons[0]  # an earlier date of the group, not opened
            later = [les for les in lessons if les.date > other.date]
            if not later:
                continue
            opened = later[0]
            day = opened.date + 10 * DAY
            start = ts(day, 9 * 60)
            homework = self._by_type(opened, 3)[0]
            free = [sid for sid in pupils if (homework.id, sid) not in marked]
            if len(free) < 3:
                continue
            other_hw = self._by_type(other, 3)[0]
            other_free = [sid for sid in pupils if (other_hw.id, sid) not in marked]
            if not other_free:
                continue
            s.marks.append(Mark(other_hw.id, other_free[0], ts(day, 10 * 60), 4))
            for sid, minutes in zip(free, (9 * 60 + 30, 20 * 60 + 59, 21 * 60 + 30), strict=False):
                s.marks.append(Mark(homework.id, sid, ts(day, minutes), rng.choice((4, 5))))
            created = after_lesson(rng, opened.date, opened.number)
            dictation = self.b.new_assignment(opened, written, "Диктант", 20, created)
            s.marks.append(Mark(dictation.id, free[0], ts(day, 11 * 60), 5))
            g = s.groups[sg_id]
            self.unlock_windows.append(
                {
                    "id": "u1",
                    "date": opened.date.isoformat(),
                    "start": start,
                    "teacher": s.staff[g.teacher_ids[0]].name,
                    "class": s.classes[g.class_id].name,
                    "subject": s.subjects[g.subject_id].name,
                    "hours": "12",
                }
            )
            return

    def late_joiners(self) -> None:
        """Two pupils joining the first class late: one in the last days of term 1 (after its
        period-mark deadline), one in term 2 — neither owes a term-1 period mark (T-10)."""
        s, rng = self.s, self.rng
        k = s.classes[min(s.classes)]
        t1, t2 = s.calendar.terms[0], s.calendar.terms[1]
        for day in (t1.end - DAY, t2.start + 14 * DAY):
            st = Student(
                max(s.students) + 1,
                person(rng, rng.random() < 0.5),
                k.id,
                some_time(rng, day),
                True,
            )
            s.students[st.id] = st
            joined: set[int] = set()
            for g in sorted(s.groups.values(), key=lambda x: x.id):
                if g.class_id != k.id or g.term_ids:
                    continue  # the full-year courses of the class (not the half-year ones)
                if g.subject_id in joined:
                    continue  # one subgroup of a split subject is enough
                joined.add(g.subject_id)
                g.student_ids = (*g.student_ids, st.id)

    def health_unfilled_on_time(self) -> None:
        """A pupil on the list by 5 Sep whose health group is not filled in."""
        due = f"{self.s.year_start}-09-05T24"
        listed = [st for st in self.s.students.values() if st.added < due]
        if not any(not st.health_filled for st in listed):
            self.rng.choice(sorted(listed, key=lambda st: st.id)).health_filled = False

    def task(self) -> str:
        n, m = self.rng.randint(1, 40), self.rng.randint(3, 250)
        return self.rng.choice(N.HOMEWORK).format(n=n, m=m, k=m + self.rng.randint(1, 6))

    def add_empty_class(self) -> None:
        """A class on the books with no pupils yet (a parallel opened for newcomers)."""
        s = self.s
        grade = max(k.grade for k in s.classes.values())
        letters = {k.letter for k in s.classes.values() if k.grade == grade}
        letter = next(c for c in LETTERS if c not in letters)
        chiefs = {k.chief_id for k in s.classes.values()}
        teachers = sorted({t for g in s.groups.values() for t in g.teacher_ids} - chiefs)
        k = Klass(max(s.classes) + 1, f"{grade}{letter}", grade, letter, self.rng.choice(teachers))
        s.classes[k.id] = k
        s.info["empty_classes"] = [k.id]
