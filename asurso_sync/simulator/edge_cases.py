"""The small school's edge cases: the records that decide how the rule table is read.

They take ids after every other record and draw from a random stream of their own, so the rest
of the school is the same with or without them.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Protocol

from asurso_sync.simulator import names as N
from asurso_sync.simulator.calendar import DAY
from asurso_sync.simulator.draw import LETTERS, Ids, after_lesson, some_time, ts
from asurso_sync.simulator.model import (
    Assignment,
    Group,
    Klass,
    Lesson,
    PeriodMark,
    Plan,
    PlanLesson,
    School,
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
    listed before 5 Sep without a health group (R21 only once 5 Sep has passed).

    They take ids after every other record and draw from their own random stream, so the rest
    of the school is unchanged by them.
    """

    def __init__(self, builder: JournalBuilder) -> None:
        s = builder.s
        self.b = builder
        self.s = s
        self.rng = random.Random(f"asurso-sim/{s.size}/{s.seed}/{s.year_start}/edges")
        self.by_lesson: dict[int, list[Assignment]] = {}
        for a in s.assignments.values():
            self.by_lesson.setdefault(a.lesson_id, []).append(a)

    def add_journal_cases(self) -> None:
        self.second_late_topic()
        self.unnamed_homework()
        self.half_year_group()
        self.health_unfilled_on_time()

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
            term = s.calendar.term_at(day)
            lesson = Lesson(b.lesson_id(), g.id, k.id, day, number, term.id, plan_lessons[i].id)
            s.lessons[lesson.id] = lesson
            entry = after_lesson(rng, day, number)
            b.new_assignment(lesson, 10, name, 10, entry)
            b.new_assignment(lesson, 3, self.task(), 10, entry, due=day + 7 * DAY)
        for term in terms:
            day = term.end - rng.randint(4, 8) * DAY
            start = rng.randint(10 * 60, 19 * 60)
            for i, sid in enumerate(g.student_ids):
                value = rng.choice(("4", "5"))
                s.period_marks.append(PeriodMark(g.id, term.id, sid, ts(day, start + i), value))

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
