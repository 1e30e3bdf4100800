"""Build a deterministic school year: classes, pupils, staff, timetable, lessons, marks, КТП.

Everything comes from one `random.Random` seeded by (size, seed, year_start). Planted breaches
follow `rates.py`; the small school is forced to hold at least one instance of every rare
group-level breach so that each checkable rule shows up, plus the edge cases where a careless
reading of the rule table would go wrong (`edge_cases.py`, drawn from a random stream of its own so
that the rest of the school is the same with or without them).
"""

from __future__ import annotations

import datetime as dt
import random

from asurso_sync.simulator import names as N
from asurso_sync.simulator import rates as R
from asurso_sync.simulator.accounts import add_deputy_visits, make_access, make_users
from asurso_sync.simulator.calendar import DAY, build_calendar, school_year_of
from asurso_sync.simulator.draw import LETTERS, Ids, after_lesson, force, person, some_time, ts
from asurso_sync.simulator.edge_cases import EdgeCases
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
    Staff,
    Student,
    Subject,
)

SIZES = {
    # size: (grades, letters per grade (choices), pupils per class (lo, hi))
    "small": ((5,), (2,), (23, 27)),
    "school": (tuple(range(1, 12)), (2, 2, 3), (22, 28)),
    "large": (tuple(range(1, 12)), (5, 6), (22, 28)),
}
TEACHER_LOAD = 18  # weekly hours before a new teacher of the specialty is hired
KR_EVERY = 9  # every 9th lesson of a core subject is a control work
CORE_NO_KR = {
    "Изобразительное искусство",
    "Музыка",
    "Физическая культура",
    "Труд (технология)",
    "ОДНКНР",
    "Индивидуальный проект",
    "Окружающий мир",
    "ОБЗР",
}
PRIMARY_SPECIALISTS = {"Английский язык", "Физическая культура", "Музыка"}
SPECIALTY = {
    "Алгебра": "math",
    "Геометрия": "math",
    "Вероятность и статистика": "math",
    "Математика": "math",
    "Русский язык": "rus",
    "Литература": "rus",
    "История": "hist",
    "Обществознание": "hist",
    "ОДНКНР": "hist",
    "Индивидуальный проект": "hist",
    "Изобразительное искусство": "art",
    "Музыка": "music",
    "ОБЗР": "pe",
}


def _mark_value(rng: random.Random) -> int:
    r = rng.random()
    return 5 if r < 0.33 else 4 if r < 0.73 else 3 if r < 0.95 else 2


def build_school(size: str = "small", seed: int = 1, year_start: int | None = None) -> School:
    """Generate the school deterministically from (size, seed, year_start)."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: use small, school or large")
    if year_start is None:
        year_start = school_year_of(dt.date.today())
    rng = random.Random(f"asurso-sim/{size}/{seed}/{year_start}")
    cal = build_calendar(year_start)
    school = School(
        size=size,
        seed=seed,
        year_start=year_start,
        school_id=107,
        name="МБОУ Школа № 3 г.о. Самара",
        short_name="МБОУ Школа № 3",
        calendar=cal,
    )
    _Builder(school, rng).run()
    school.index()
    return school


class _Builder:
    """One generation run; methods fill `school` step by step."""

    def __init__(self, school: School, rng: random.Random) -> None:
        self.s = school
        self.rng = rng
        self.small = school.size == "small"
        self.cal = school.calendar
        self.study_days = self.cal.study_days()
        self.staff_id = Ids(1000)
        self.student_id = Ids(5000)
        self.lesson_id = Ids(90000)
        self.assignment_id = Ids(300000)
        self.plan_lesson_id = Ids(700000)
        self.load: dict[int, int] = {}
        self.specialists: dict[str, list[int]] = {}
        self.timetable: dict[int, dict[int, list[tuple[int, str]]]] = {}
        self.subject_ids: dict[str, int] = {}

    def run(self) -> None:
        self.make_subjects()
        self.make_admins()
        self.make_classes()
        self.make_groups()
        self.make_timetables()
        self.make_lessons()
        edges = EdgeCases(self) if self.small else None
        if edges:
            edges.add_journal_cases()
        else:
            EdgeCases(self).english_entries()  # R25 in every school size
        make_access(self.s)
        self.s.users = make_users(self.s, self.rng, self.director, self.deputy, self.it_admin)
        add_deputy_visits(self.s, self.rng, self.deputy.id, self.study_days)
        self.s.info = {
            "late_list_classes": sorted(self.late_list),
            "no_first_week_classes": sorted(self.no_first_week),
            "released_pupils": len(self.released),
            "subgroup_errors": len(self.subgroup_errors),
        }
        if edges:
            edges.add_empty_class()
            self.s.info["unlock_windows"] = edges.unlock_windows

    # --- structure ---------------------------------------------------------------------------
    def make_subjects(self) -> None:
        for i, (name, short) in enumerate(N.SUBJECTS.items(), start=1):
            self.s.subjects[i] = Subject(i, name, short)
            self.subject_ids[name] = i

    def new_staff(self, role: str = "Учитель", female: bool | None = None) -> Staff:
        female = self.rng.random() < 0.8 if female is None else female
        member = Staff(self.staff_id(), person(self.rng, female), role)
        self.s.staff[member.id] = member
        self.load[member.id] = 0
        return member

    def make_admins(self) -> None:
        self.director = self.new_staff("Администратор")
        self.deputy = self.new_staff("Заместитель директора")
        self.it_admin = self.new_staff("Администратор")

    def make_classes(self) -> None:
        grades, letters, (lo, hi) = SIZES[self.s.size]
        class_id = Ids(100)
        for grade in grades:
            for letter in LETTERS[: self.rng.choice(letters)]:
                k = Klass(class_id(), f"{grade}{letter}", grade, letter)
                self.s.classes[k.id] = k
        ids = sorted(self.s.classes)
        # Planted roster breaches: a class with no lesson in the first week, a late class list.
        n_late = max(R.LATE_LIST_CLASSES, len(ids) // 25)
        n_nofirst = max(R.NO_FIRST_WEEK_CLASSES, len(ids) // 25)
        picks = self.rng.sample(ids, min(len(ids), n_late + n_nofirst))
        self.late_list = set(picks[:n_late])
        self.no_first_week = set(picks[n_late:])
        y = self.s.year_start
        for cid in ids:
            for _ in range(self.rng.randint(lo, hi)):
                female = self.rng.random() < 0.5
                if cid in self.late_list:
                    added = some_time(self.rng, dt.date(y, 9, self.rng.randint(8, 12)))
                else:
                    added = some_time(self.rng, dt.date(y, 8, self.rng.randint(20, 31)))
                st = Student(
                    self.student_id(),
                    person(self.rng, female),
                    cid,
                    added,
                    health_filled=self.rng.random() >= R.HEALTH_UNFILLED,
                    individual=self.rng.random() < 0.004,
                )
                self.s.students[st.id] = st
        if self.small and all(st.health_filled for st in self.s.students.values()):
            self.rng.choice(list(self.s.students.values())).health_filled = False
        self.released = {sid for sid in self.s.students if self.rng.random() < R.RELEASED_PUPILS}
        if self.small and not self.released:
            self.released.add(self.rng.choice(sorted(self.s.students)))

    def teacher_for(self, key: str, hours: int, avoid: set[int]) -> int:
        pool = self.specialists.setdefault(key, [])
        fits = [t for t in pool if t not in avoid and self.load[t] + hours <= TEACHER_LOAD]
        tid = min(fits, key=lambda t: (self.load[t], t)) if fits else self.new_staff().id
        if not fits:
            pool.append(tid)
        self.load[tid] += hours
        return tid

    def make_groups(self) -> None:
        sg_id = Ids(1200)
        split_count = 0
        self.subgroup_errors: list[tuple[int, str]] = []
        for k in sorted(self.s.classes.values(), key=lambda c: c.id):
            pupils = [sid for sid, st in self.s.students.items() if st.class_id == k.id]
            primary_teacher = self.new_staff().id if k.grade <= 4 else None
            class_teachers: set[int] = set()
            for subject, weekly in N.curriculum(k.grade).items():
                subj_id = self.subject_ids[subject]
                split = subject in N.SPLIT_SUBJECTS and (
                    k.grade >= 5 or subject == "Английский язык"
                )
                if primary_teacher and subject not in PRIMARY_SPECIALISTS:
                    key = None
                else:
                    key = SPECIALTY.get(subject, subject)
                parts: list[list[int]] = [pupils]
                if split:
                    shuffled = pupils[:]
                    self.rng.shuffle(shuffled)
                    half = len(shuffled) // 2
                    parts = [sorted(shuffled[:half]), sorted(shuffled[half:])]
                    split_count += 1
                    if self.rng.random() < R.SUBGROUP_ERROR_RATE or (
                        self.small and split_count == 1
                    ):
                        pupil = self.rng.choice(pupils)
                        if self.rng.random() < 0.5 or (self.small and split_count == 1):
                            parts = [[p for p in part if p != pupil] for part in parts]
                        else:
                            parts = [sorted(set(part) | {pupil}) for part in parts]
                        self.subgroup_errors.append((k.id, subject))
                used: set[int] = set()
                for n, part in enumerate(parts, start=1):
                    if key is None:
                        assert primary_teacher is not None  # key is None only in grades 1–4
                        tid = primary_teacher
                        self.load[tid] += weekly
                    else:
                        tid = self.teacher_for(key, weekly, used)
                    used.add(tid)
                    class_teachers.add(tid)
                    label = f"{k.name}/{subject}" + (f" ({n} подгр.)" if split else "")
                    g = Group(sg_id(), label, subj_id, k.id, (tid,), 0, tuple(part))
                    self.s.groups[g.id] = g
            chiefs = {c.chief_id for c in self.s.classes.values()}
            if primary_teacher:
                k.chief_id = primary_teacher
            else:
                free = sorted(class_teachers - chiefs)
                k.chief_id = self.rng.choice(free or sorted(class_teachers))

    def make_timetables(self) -> None:
        """A 5-day weekly timetable per class: weekday -> [(number, subject)]."""
        for k in self.s.classes.values():
            days: dict[int, list[str]] = {d: [] for d in range(5)}
            plan = sorted(N.curriculum(k.grade).items(), key=lambda x: (-x[1], x[0]))
            for subject, weekly in plan:
                left = weekly
                while left > 0:
                    order = sorted(days, key=lambda d: (len(days[d]), self.rng.random()))
                    for d in order[: min(left, 5)]:
                        days[d].append(subject)
                    left -= min(left, 5)
            table = {}
            for d, subjects in days.items():
                self.rng.shuffle(subjects)
                table[d] = [(i, subj) for i, subj in enumerate(subjects, start=1)]
            self.timetable[k.id] = table

    # --- the year ------------------------------------------------------------------------------
    def group_fates(self) -> dict[int, dict[str, str]]:
        """Per subject group: its КТП fate and whether it lags behind the programme."""
        ids = sorted(self.s.groups)
        ktp, lag, hours = [], [], []
        for _ in ids:
            r = self.rng.random()
            ktp.append(
                "missing"
                if r < R.KTP_MISSING
                else "late"
                if r < R.KTP_MISSING + R.KTP_LATE
                else "early"
                if r < R.KTP_MISSING + R.KTP_LATE + R.KTP_EARLY_WARNING
                else "clean"
            )
            lag.append("lag" if self.rng.random() < R.PROGRAMME_LAG else "clean")
            hours.append("wrong" if self.rng.random() < R.KTP_WRONG_HOURS else "clean")
        if self.small:
            force(ktp, ("missing", "late", "early"), self.rng)
            force(lag, ("lag",), self.rng)
            force(hours, ("wrong",), self.rng)
        return {
            g: {"ktp": a, "lag": b, "hours": c}
            for g, a, b, c in zip(ids, ktp, lag, hours, strict=True)
        }

    def make_lessons(self) -> None:
        fates = self.group_fates()
        y = self.s.year_start
        # Slots: every (group, date, number) the timetable gives.
        slots: dict[int, list[tuple[dt.date, int]]] = {g: [] for g in self.s.groups}
        by_class_subject: dict[tuple[int, str], list[Group]] = {}
        for g in self.s.groups.values():
            by_class_subject.setdefault(
                (g.class_id, self.s.subjects[g.subject_id].name), []
            ).append(g)
        for k in sorted(self.s.classes.values(), key=lambda c: c.id):
            first = dt.date(y, 9, 8) if k.id in self.no_first_week else self.cal.start
            for day in self.study_days:
                if day < first:
                    continue
                for number, subject in self.timetable[k.id][day.weekday()]:
                    for g in by_class_subject[(k.id, subject)]:
                        slots[g.id].append((day, number))
        # Cancelled lessons (programme lag) — planned in the КТП, never held.
        cancelled: set[tuple[int, dt.date, int]] = set()
        for gid, fate in fates.items():
            g = self.s.groups[gid]
            g.hours = len(slots[gid])
            if fate["lag"] == "lag" and slots[gid]:
                term = self.rng.choice(self.cal.terms[:3] if self.small else self.cal.terms)
                in_term = [sl for sl in slots[gid] if term.start <= sl[0] <= term.end]
                for sl in self.rng.sample(in_term, min(len(in_term), self.rng.randint(1, 3))):
                    cancelled.add((gid, *sl))
        self.make_plans(slots, fates)
        self.topics = {gid: self.topic_names(gid, len(slots[gid])) for gid in slots}
        self.absent = self.absent_days()
        for gid in sorted(slots):
            plan = self.s.plans.get(gid)
            plan_lessons = plan.lessons if plan else []
            for i, (day, number) in enumerate(slots[gid]):
                if (gid, day, number) in cancelled:
                    continue
                g = self.s.groups[gid]
                lesson = Lesson(
                    self.lesson_id(),
                    gid,
                    g.class_id,
                    day,
                    number,
                    self.cal.term_at(day).id,
                    plan_lessons[i].id if i < len(plan_lessons) else None,
                )
                self.s.lessons[lesson.id] = lesson
                self.fill_lesson(lesson, g, i)
        if self.small:
            self._force_rare_lesson_breaches()
        self.make_period_marks()

    def _force_rare_lesson_breaches(self) -> None:
        """The small school shows a mark entered before its lesson (R09) and an unmapped code."""
        s = self.s
        mid = self.cal.terms[1].start
        by_assignment: dict[int, list[Mark]] = {}
        for m in s.marks:
            by_assignment.setdefault(m.assignment_id, []).append(m)
        early = any(
            m.date[:10] < s.lessons[s.assignments[m.assignment_id].lesson_id].date.isoformat()
            for m in s.marks
        )
        if not early:
            written = [
                a
                for a in s.assignments.values()
                if a.type_id in (5, 8, 14, 25)
                and s.lessons[a.lesson_id].date >= mid
                and a.id in by_assignment
            ]
            a = written[0]
            day = s.lessons[a.lesson_id].date
            a.created = ts(day - 2 * DAY, 18 * 60)
            for i, m in enumerate(by_assignment[a.id]):
                if not m.duty:
                    m.date = ts(day - DAY, 19 * 60 + i // 6)
        if not any(ab.reason == "ОП" for ab in s.absences):
            ab = next(
                ab for ab in s.absences if ab.reason == "Н" and s.lessons[ab.lesson_id].date >= mid
            )
            ab.reason, ab.changed_at, ab.new_reason = "ОП", None, None

    def topic_names(self, gid: int, n: int) -> list[str]:
        subject = self.s.subjects[self.s.groups[gid].subject_id].name
        topics = N.TOPICS[subject]
        names = []
        for k in range(n):
            t = topics[(k // len(N.TOPIC_FORMS)) % len(topics)]
            if subject not in CORE_NO_KR and k % KR_EVERY == KR_EVERY - 1:
                names.append(f"Контрольная работа по теме «{t}»")
            else:
                names.append(N.TOPIC_FORMS[k % len(N.TOPIC_FORMS)].format(t=t))
        return names

    def homework(self, subject: str) -> str:
        if subject == N.PE:
            return self.rng.choice(N.PE_HOMEWORK)
        n, m = self.rng.randint(1, 40), self.rng.randint(3, 250)
        return self.rng.choice(N.HOMEWORK).format(n=n, m=m, k=m + self.rng.randint(1, 6))

    def make_plans(self, slots: dict[int, list[tuple[dt.date, int]]], fates: dict) -> None:
        y = self.s.year_start
        names_by_group = {gid: self.topic_names(gid, len(sl)) for gid, sl in slots.items()}
        for gid in sorted(slots):
            fate = fates[gid]
            if fate["ktp"] == "missing" or not slots[gid]:
                continue
            if fate["ktp"] == "late":
                created = some_time(self.rng, dt.date(y, 9, self.rng.randint(2, 20)))
            elif fate["ktp"] == "early":
                created = some_time(self.rng, dt.date(y, 6, 27) + self.rng.randint(0, 65) * DAY)
            else:
                created = some_time(self.rng, dt.date(y, 6, self.rng.randint(1, 26)))
            subject = self.s.subjects[self.s.groups[gid].subject_id].name
            lessons = []
            for (day, _number), name in zip(slots[gid], names_by_group[gid], strict=True):
                r = self.rng.random()
                task = self.homework(subject)
                if r < R.KTP_EMPTY_NAME:
                    name = ""
                elif r < R.KTP_EMPTY_NAME + R.KTP_NO_CYRILLIC:
                    name = self.rng.choice(N.LATIN_TOPICS).format(n=self.rng.randint(1, 12))
                elif r < R.KTP_EMPTY_NAME + R.KTP_NO_CYRILLIC + R.KTP_EMPTY_TASK:
                    task = ""
                lessons.append(PlanLesson(self.plan_lesson_id(), name, 1, day, task))
            if fate["hours"] == "wrong":
                if self.rng.random() < 0.5 and len(lessons) > 3:
                    del lessons[-self.rng.randint(1, 3) :]
                else:
                    last = lessons[-1]
                    for i in range(self.rng.randint(1, 2)):
                        lessons.append(
                            PlanLesson(
                                self.plan_lesson_id(),
                                f"Резервный урок {i + 1}",
                                1,
                                last.last_study_day,
                                "Повторение изученного",
                            )
                        )
            self.s.plans[gid] = Plan(7000 + gid, gid, created, lessons)
        if self.small:
            self._force_ktp_lesson_breaches()

    def _force_ktp_lesson_breaches(self) -> None:
        """The small school shows every kind of R17 breach at least once."""
        plan_lessons = [pl for p in self.s.plans.values() for pl in p.lessons]
        if not any(not pl.task for pl in plan_lessons):
            self.rng.choice(plan_lessons).task = ""
        if not any(
            pl.name and not any("а" <= c.lower() <= "я" or c in "ёЁ" for c in pl.name)
            for pl in plan_lessons
        ):
            self.rng.choice(plan_lessons).name = "Lesson 7"

    def absent_days(self) -> dict[tuple[int, dt.date], tuple[str | None, str | None]]:
        """(pupil, day) -> (time the Н becomes УП/НП or None if never, the new reason)."""
        out: dict[tuple[int, dt.date], tuple[str | None, str | None]] = {}
        rng = self.rng
        for sid in sorted(self.s.students):
            for day in self.study_days:
                if rng.random() >= R.ABSENT_DAY:
                    continue
                r = rng.random()
                reason = "УП" if rng.random() < 0.75 else "НП"
                if r < R.REASON_NEVER:
                    out[(sid, day)] = (None, None)
                elif r < R.REASON_NEVER + R.REASON_LATE:
                    out[(sid, day)] = (some_time(rng, day + rng.randint(8, 20) * DAY), reason)
                else:
                    out[(sid, day)] = (some_time(rng, day + rng.randint(1, 6) * DAY), reason)
        return out

    # --- one lesson ------------------------------------------------------------------------------
    def new_assignment(
        self,
        lesson: Lesson,
        type_id: int,
        name: str,
        weight: int,
        created: str,
        due: dt.date | None = None,
    ) -> Assignment:
        a = Assignment(
            self.assignment_id(), lesson.id, type_id, name, weight, due or lesson.date, created
        )
        self.s.assignments[a.id] = a
        return a

    def add_mark(
        self, a: Assignment, sid: int, date: str, value: int | str | None, duty: bool = False
    ) -> None:
        m = Mark(a.id, sid, date, value, duty)
        if not duty:
            r = self.rng.random()
            if r < R.MARK_CHANGED + R.MARK_DELETED:
                later = dt.date.fromisoformat(date[:10]) + self.rng.randint(1, 15) * DAY
                if r < R.MARK_CHANGED:
                    m.changed_at = some_time(self.rng, later)
                    m.new_value = value - 1 if isinstance(value, int) and value > 2 else 5
                else:
                    m.deleted_at = some_time(self.rng, later)
        self.s.marks.append(m)

    def fill_lesson(self, lesson: Lesson, g: Group, k: int) -> None:
        rng = self.rng
        day = lesson.date
        subject = self.s.subjects[g.subject_id].name
        topic = self.topics[g.id][k] if k < len(self.topics[g.id]) else "Повторение изученного"
        entry = after_lesson(rng, day, lesson.number)
        present = [sid for sid in g.student_ids if (sid, day) not in self.absent]
        self.fill_absences(lesson, g, subject, entry)
        # The topic (class-work typeId 10).
        r = rng.random()
        fate = "clean"
        for name, rate in (
            ("none", R.LESSON_NO_TASK),
            ("placeholder", R.TOPIC_PLACEHOLDER),
            ("filled", R.TOPIC_FILLED_LATER),
            ("late", R.TOPIC_LATE),
        ):
            if r < rate:
                fate = name
                break
            r -= rate
        topic_a = None
        if fate != "none":
            created = entry
            if fate == "late":
                created = some_time(rng, day + rng.randint(1, 4) * DAY)
            name = N.PLACEHOLDER if fate in ("placeholder", "filled") else topic
            topic_a = self.new_assignment(lesson, 10, name, 10, created)
            if fate == "filled":
                topic_a.filled_at = some_time(rng, day + rng.randint(1, 10) * DAY)
                topic_a.filled_name = topic
            if fate != "filled" and (fate != "placeholder" or rng.random() < R.MARKED_PLACEHOLDER):
                for sid in rng.sample(present, min(len(present), rng.choice((0, 1, 2, 2, 3, 4)))):
                    self.add_mark(topic_a, sid, self.oral_time(day, created), _mark_value(rng))
        # Homework (typeId 3), never missing in PE (exemption lists differ between schools).
        r = rng.random()
        bare = fate == "none" and rng.random() < 0.5  # nothing at all: no `assignments` key
        if not bare and (subject == N.PE or r >= R.NO_HOMEWORK):
            created = entry
            if subject != N.PE and r < R.NO_HOMEWORK + R.HOMEWORK_LATE:
                created = some_time(rng, day + rng.randint(1, 3) * DAY)
            self.new_assignment(
                lesson, 3, self.homework(subject), 10, created, due=day + rng.randint(2, 7) * DAY
            )
        # Control work or written work.
        if topic.startswith("Контрольная работа"):
            type_id = 16 if rng.random() < 0.1 else 4
            a = self.new_assignment(lesson, type_id, topic, 20, entry)
            late = rng.random() < R.KR_LATE
            when = day + (rng.randint(8, 12) if late else rng.randint(1, 7)) * DAY
            self.block_marks(a, present, when)
        elif rng.random() < 0.12 and fate != "none":
            self.written_work(lesson, subject, topic, present, entry)
        if rng.random() < 0.03 and topic_a is not None:
            a = self.new_assignment(lesson, 38, f"Устный ответ: {topic}", 10, entry)
            for sid in rng.sample(present, min(len(present), 2)):
                self.add_mark(a, sid, self.oral_time(day, entry), _mark_value(rng))
        if rng.random() < R.UNKNOWN_TYPE and fate != "none":
            a = self.new_assignment(
                lesson, rng.choice(N.UNLISTED_TYPES), f"Работа по теме «{topic}»", 10, entry
            )
            for sid in rng.sample(present, min(len(present), 3)):
                self.add_mark(a, sid, entry, _mark_value(rng))

    def oral_time(self, day: dt.date, created: str) -> str:
        r = self.rng.random()
        if r < R.ORAL_VERY_LATE:
            return some_time(self.rng, day + self.rng.randint(8, 20) * DAY)
        if r < R.ORAL_VERY_LATE + R.ORAL_LATE:
            return some_time(self.rng, day + self.rng.randint(1, 3) * DAY)
        return created  # with the topic (a late topic brings late marks)

    def written_work(
        self, lesson: Lesson, subject: str, topic: str, present: list[int], entry: str
    ) -> None:
        rng = self.rng
        day = lesson.date
        type_id = rng.choice(N.WRITTEN_TYPES.get(subject, N.DEFAULT_WRITTEN))
        name = f"{N.ASSIGNMENT_TYPES[type_id][0]}: {topic}"
        r = rng.random()
        if r < R.MARKED_EMPTY_NAME:
            name = ""
        r = rng.random()
        if r < R.FUTURE_MARKS:
            created = some_time(rng, day - rng.randint(2, 3) * DAY)
            a = self.new_assignment(lesson, type_id, name, 20, created)
            self.block_marks(a, present, day - DAY)
            return
        a = self.new_assignment(lesson, type_id, name, rng.choice((10, 20)), entry)
        r -= R.FUTURE_MARKS
        if r < R.WRITTEN_VERY_LATE:
            when = day + rng.randint(8, 14) * DAY
        elif r < R.WRITTEN_VERY_LATE + R.WRITTEN_LATE:
            when = day + rng.randint(6, 7) * DAY
        else:
            when = day + rng.choice((0, 0, 1, 1, 2, 3, 4, 5)) * DAY
        duty = [sid for sid in present if rng.random() < 0.04]
        self.block_marks(a, [sid for sid in present if sid not in duty], when)
        for sid in duty:  # «точки» are put on the lesson day, never late
            self.add_mark(a, sid, ts(day, 20 * 60 + 30), None, duty=True)

    def block_marks(self, a: Assignment, pupils: list[int], when: dt.date) -> None:
        start = self.rng.randint(15 * 60, 20 * 60)
        stamps = [ts(when, start + i) for i in range(len(pupils) // 6 + 1)]
        for i, sid in enumerate(pupils):
            self.add_mark(a, sid, stamps[i // 6], _mark_value(self.rng))

    def fill_absences(self, lesson: Lesson, g: Group, subject: str, entry: str) -> None:
        rng = self.rng
        day = lesson.date
        absences = self.s.absences
        pupils = g.student_ids
        if subject == N.PE:
            for sid in pupils:
                if sid in self.released and (sid, day) not in self.absent:
                    absences.append(Absence(lesson.id, sid, entry, "ОСВ"))
        if pupils and rng.random() < R.LATE_ARRIVAL * len(pupils):
            sid = rng.choice(pupils)
            if (sid, day) not in self.absent and not (subject == N.PE and sid in self.released):
                absences.append(Absence(lesson.id, sid, entry, "О"))
        for sid in pupils:
            fate = self.absent.get((sid, day))
            if fate is None:
                continue
            date = entry
            if rng.random() < R.ABSENCE_LATE:
                date = some_time(rng, day + rng.randint(1, 3) * DAY)
            if rng.random() < R.UNKNOWN_CODE:
                absences.append(Absence(lesson.id, sid, date, "ОП"))
                continue
            # The reason arrives on the same later day for every lesson of the absent day.
            changed_at, new_reason = fate
            if changed_at is not None:
                changed_at = max(changed_at, date)
            absences.append(Absence(lesson.id, sid, date, "Н", changed_at, new_reason))

    # --- period marks --------------------------------------------------------------------------
    def make_period_marks(self) -> None:
        rng = self.rng
        values: dict[tuple[int, int, int], list[tuple[int, int]]] = {}
        lessons = self.s.lessons
        for m in self.s.marks:
            if isinstance(m.value, int):
                a = self.s.assignments[m.assignment_id]
                lesson = lessons[a.lesson_id]
                values.setdefault((lesson.sg_id, lesson.term_id, m.student_id), []).append(
                    (m.value, a.weight)
                )
        keys = [(gid, term.id) for gid in sorted(self.s.groups) for term in self.cal.terms]
        fates = []
        for _ in keys:
            r = rng.random()
            fates.append(
                "missing"
                if r < R.PERIOD_MISSING_GROUP
                else "late"
                if r < R.PERIOD_MISSING_GROUP + R.PERIOD_LATE_GROUP
                else "clean"
            )
        if self.small:
            force(fates, ("missing", "late"), rng)
        terms = {t.id: t for t in self.cal.terms}
        changed_any = False
        for (gid, term_id), fate in zip(keys, fates, strict=True):
            if fate == "missing":
                continue
            end = terms[term_id].end
            day = (
                end - rng.randint(4, 8) * DAY if fate == "clean" else end + rng.randint(-2, 4) * DAY
            )
            start = rng.randint(10 * 60, 19 * 60)
            for i, sid in enumerate(self.s.groups[gid].student_ids):
                if rng.random() < R.PERIOD_MISSING_PUPIL:
                    continue
                got = values.get((gid, term_id, sid))
                if not got or rng.random() < R.PERIOD_NA:
                    value = "н/а"
                else:
                    avg = sum(v * w for v, w in got) / sum(w for _, w in got)
                    value = str(min(5, max(2, int(avg + 0.5))))
                pm = PeriodMark(gid, term_id, sid, ts(day, start + i), value)
                if rng.random() < R.PERIOD_CHANGED or (
                    self.small and not changed_any and fate == "clean"
                ):
                    changed_any = True
                    pm.changed_at = some_time(rng, end + rng.randint(1, 10) * DAY)
                    pm.new_value = "4" if value != "4" else "5"
                self.s.period_marks.append(pm)
