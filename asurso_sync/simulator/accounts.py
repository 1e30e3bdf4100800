"""The school's logins and the journal access log (who opened which class journal when)."""

from __future__ import annotations

import datetime as dt
import random

from asurso_sync.simulator.draw import person, ts
from asurso_sync.simulator.model import School, Staff, User


def make_users(
    s: School, rng: random.Random, director: Staff, deputy: Staff, it_admin: Staff
) -> list[User]:
    """The logins of CONTRACT §7: admin, deputy, two teachers, parent, pupil, a teacher who is
    also a parent, and an admin who meets the security warning on first login."""
    teachers = sorted({g.teacher_ids[0] for g in s.groups.values()})
    # two teachers who teach in the first class, and a third who is also a parent
    first_class = min(s.classes)
    in_first = sorted({g.teacher_ids[0] for g in s.groups.values() if g.class_id == first_class})
    t1, t2 = in_first[0], in_first[1]
    t3 = next(t for t in teachers if t not in (t1, t2))
    by_class: dict[int, list[int]] = {}
    for st in sorted(s.students.values(), key=lambda x: x.id):
        by_class.setdefault(st.class_id, []).append(st.id)
    class_ids = sorted(by_class)
    child_a = by_class[class_ids[0]][0]
    child_b = by_class[class_ids[1]][1]
    pupil = by_class[class_ids[-1]][2]
    own_child = by_class[class_ids[0]][3]
    parent_id = 20001
    staff = s.staff
    teacher_role = ((3, "Учитель"),)
    return [
        User(
            "admin",
            "admin",
            "Админ-Пароль1",
            director.id,
            director.name,
            ((1, "Администратор"),),
            staff_id=director.id,
            visibility="all",
        ),
        User(
            "deputy",
            "zavuch",
            "Завуч2025",
            deputy.id,
            deputy.name,
            ((5, "Завуч"),),
            staff_id=deputy.id,
            visibility="all",
        ),
        User(
            "teacher",
            "uchitel1",
            "Учитель№1",
            t1,
            staff[t1].name,
            teacher_role,
            staff_id=t1,
            visibility="own",
        ),
        User(
            "teacher",
            "uchitel2",
            "ёжик-в-тумане",
            t2,
            staff[t2].name,
            teacher_role,
            staff_id=t2,
            visibility="own",
        ),
        User(
            "parent",
            "roditel",
            "Родитель 7",
            parent_id,
            person(rng, True),
            ((2, "Родитель"),),
            children=(child_a, child_b),
        ),
        User(
            "student",
            "uchenik",
            "Ученик-42",
            pupil,
            s.students[pupil].name,
            ((4, "Ученик"),),
            student_id=pupil,
        ),
        User(
            "multirole",
            "mnogorol",
            "ДваРоли!",
            t3,
            staff[t3].name,
            ((3, "Учитель"), (2, "Родитель")),
            staff_id=t3,
            children=(own_child,),
            visibility="own",
        ),
        User(
            "warned",
            "warned",
            "Предупреждён",
            it_admin.id,
            it_admin.name,
            ((1, "Администратор"),),
            staff_id=it_admin.id,
            visibility="all",
        ),
    ]


def add_deputy_visits(
    s: School, rng: random.Random, deputy_id: int, study_days: list[dt.date]
) -> None:
    """The deputy director looks at every class journal on Monday mornings."""
    for day in study_days:
        if day.weekday() == 0:
            for cid in s.classes:
                s.access.setdefault(cid, []).append(
                    (ts(day, 9 * 60 + rng.randint(0, 90)), deputy_id)
                )


def make_access(s: School) -> None:
    """The journal access log: every entry time of a teacher (or the class teacher, for
    absence reasons) opens the class journal; keep the first and last entry per day."""
    spans: dict[tuple[int, int, str], list[str]] = {}

    def touch(class_id: int, staff_id: int, stamp: str | None) -> None:
        if stamp is None:
            return
        key = (class_id, staff_id, stamp[:10])
        span = spans.get(key)
        if span is None:
            spans[key] = [stamp, stamp]
        elif stamp < span[0]:
            span[0] = stamp
        elif stamp > span[1]:
            span[1] = stamp

    owner = {}
    for a in s.assignments.values():
        lesson = s.lessons[a.lesson_id]
        g = s.groups[lesson.sg_id]
        owner[a.id] = (g.class_id, g.teacher_ids[0])
        touch(g.class_id, g.teacher_ids[0], a.created)
        touch(g.class_id, g.teacher_ids[0], a.filled_at)
    for m in s.marks:
        cid, tid = owner[m.assignment_id]
        touch(cid, tid, m.date)
        touch(cid, tid, m.changed_at)
        touch(cid, tid, m.deleted_at)
    for ab in s.absences:
        lesson = s.lessons[ab.lesson_id]
        touch(lesson.class_id, s.groups[lesson.sg_id].teacher_ids[0], ab.date)
        touch(lesson.class_id, s.classes[lesson.class_id].chief_id, ab.changed_at)
    for pm in s.period_marks:
        g = s.groups[pm.sg_id]
        touch(g.class_id, g.teacher_ids[0], pm.date)
        touch(g.class_id, g.teacher_ids[0], pm.changed_at)
    for (class_id, staff_id, _day), (first, last) in spans.items():
        entries = s.access.setdefault(class_id, [])
        entries.append((first, staff_id))
        if last != first:
            entries.append((last, staff_id))
