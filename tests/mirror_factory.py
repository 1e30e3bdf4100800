"""Hand-built mirrors for the rules' boundary tests: insert exactly the rows a test needs.

`MirrorFactory()` opens an in-memory mirror with a school year 2025/26 (four quarters, the
autumn vacation 27 Oct–4 Nov 2025), the assignment types and absence codes of the simulator's
school, one class «5а» with a class teacher, and helpers that insert one row each with
sensible defaults (ids count up from 1000).
"""

from __future__ import annotations

import itertools

from asurso_sync.mirror.db import open_mirror

SEEN = "2026-06-01T00:00:00+00:00"
TYPES = [
    (3, "Домашнее задание", "ДЗ"),
    (10, "Ответ на уроке", "ОТВ"),
    (4, "Контрольная работа", "КР"),
    (5, "Самостоятельная работа", "СР"),
    (11, "Устный развернутый ответ", "УО"),
    (7, "Диктант", "Д"),
]
REASONS = ["Н", "О", "УП", "НП", "ОСВ"]
TERMS = [
    (1, "1 четверть", "2025-09-01", "2025-10-26"),
    (2, "2 четверть", "2025-11-05", "2025-12-28"),
    (3, "3 четверть", "2026-01-12", "2026-03-22"),
    (4, "4 четверть", "2026-04-01", "2026-05-25"),
]


class MirrorFactory:
    def __init__(self, path=None) -> None:
        self.db = open_mirror(path) if path else open_mirror(memory=True)
        self._ids = itertools.count(1000)
        self.insert("schools", id=1, name="ГБОУ ООШ №39")
        self.insert(
            "years", id=2025, name="2025/2026", start_date="2025-09-01", end_date="2026-08-31"
        )
        for term_id, name, start, end in TERMS:
            self.insert(
                "terms",
                id=term_id,
                year_id=2025,
                name=name,
                term_type_id=1,
                start_date=start,
                end_date=end,
            )
        self.insert(
            "vacations",
            id=1,
            year_id=2025,
            name="Осенние каникулы",
            start_date="2025-10-27",
            end_date="2025-11-04",
        )
        for type_id, name, abbr in TYPES:
            self.insert("assignment_types", id=type_id, name=name, abbr=abbr, known=1)
        for code in REASONS:
            self.insert("attendance_reasons", code=code, local_code=code, name=code, known=1)
        self.teacher_id = self.teacher("Петрова Мария Ивановна")
        self.class_teacher_id = self.teacher("Сидорова Анна Петровна")
        self.class_id = self.klass("5а", teacher_id=self.class_teacher_id)
        self.subject_id = self.subject("Математика")
        self.sg_id = self.group(self.class_id, self.subject_id, teacher_id=self.teacher_id)

    def next_id(self) -> int:
        return next(self._ids)

    def insert(self, table: str, **row) -> dict:
        row.setdefault("first_seen_at", SEEN)
        row.setdefault("last_seen_at", SEEN)
        self.db[table].insert(row)
        return row

    # structure -----------------------------------------------------------------------------
    def teacher(self, name: str) -> int:
        tid = self.next_id()
        self.insert("teachers", id=tid, name=name)
        return tid

    def klass(self, name: str, teacher_id: int | None = None) -> int:
        cid = self.next_id()
        self.insert("classes", id=cid, year_id=2025, name=name, grade=name[:-1], letter=name[-1])
        if teacher_id:
            self.insert("class_teachers", class_id=cid, teacher_id=teacher_id)
        return cid

    def subject(self, name: str) -> int:
        sid = self.next_id()
        self.insert("subjects", id=sid, name=name, short_name=name[:4])
        return sid

    def group(
        self,
        class_id: int,
        subject_id: int,
        teacher_id: int | None = None,
        hours: int | None = 34,
        terms=(1, 2, 3, 4),
        students=(),
    ) -> int:
        gid = self.next_id()
        self.insert(
            "subject_groups",
            id=gid,
            class_id=class_id,
            subject_id=subject_id,
            name=f"{gid}",
            hours=hours,
        )
        if teacher_id:
            self.insert("subject_group_teachers", subject_group_id=gid, teacher_id=teacher_id)
        for term in terms:
            self.insert("subject_group_terms", subject_group_id=gid, term_id=term)
        for student in students:
            self.member(gid, student)
        return gid

    def student(
        self,
        class_id: int | None = None,
        added_date: str | None = "2025-08-30",
        health_filled: int | None = 1,
        member_of=None,
    ) -> int:
        sid = self.next_id()
        self.insert(
            "students",
            id=sid,
            class_id=class_id or self.class_id,
            full_name=f"Ученик {sid}",
            free=0,
            individual_educ=0,
            added_date=added_date,
            health_filled=health_filled,
        )
        for gid in [self.sg_id] if member_of is None else member_of:
            self.member(gid, sid)
        return sid

    def member(self, subject_group_id: int, student_id: int) -> None:
        self.insert(
            "subject_group_students", subject_group_id=subject_group_id, student_id=student_id
        )

    # journal -------------------------------------------------------------------------------
    def lesson(
        self,
        date: str,
        sg_id: int | None = None,
        term_id: int | None = None,
        topic: str | None = "Натуральные числа",
        topic_at: str | None = None,
        homework: str | None = "№ 12",
        homework_at: str | None = None,
        class_id: int | None = None,
        teacher_id: int | None = None,
    ) -> int:
        """A lesson with (by default) a topic and homework entered on its day at 14:00;
        `teacher_id` names the teacher who held it (a substitute), where a portal serves it."""
        lid = self.next_id()
        sg_id = sg_id or self.sg_id
        self.insert(
            "lessons",
            id=lid,
            subject_group_id=sg_id,
            class_id=class_id or self._class_of(sg_id),
            term_id=term_id,
            date=date,
            number=1,
            is_tkr=0,
            topic=topic,
            homework=homework,
            teacher_id=teacher_id,
        )
        if topic is not None:
            self.assignment(lid, 10, topic, entered_at=topic_at or f"{date}T14:00:00")
        if homework is not None:
            self.assignment(lid, 3, homework, entered_at=homework_at or f"{date}T14:01:00")
        return lid

    def _class_of(self, sg_id: int) -> int:
        return self.db.execute(
            "SELECT class_id FROM subject_groups WHERE id = ?", [sg_id]
        ).fetchone()[0]

    def assignment(
        self,
        lesson_id: int,
        type_id: int,
        name: str | None = "Работа",
        entered_at: str | None = None,
        source: str = "portal",
        last_absent_at: str | None = None,
    ) -> int:
        aid = self.next_id()
        lesson = self.db["lessons"].get(lesson_id)
        entered_at = entered_at or f"{lesson['date']}T14:00:00"
        self.insert(
            "assignments",
            id=aid,
            lesson_id=lesson_id,
            subject_group_id=lesson["subject_group_id"],
            type_id=type_id,
            name=name,
            weight=10,
            due_date=lesson["date"],
            created_at=entered_at,
            entered_at=entered_at,
            entered_source=source,
            last_absent_at=last_absent_at,
        )
        return aid

    def mark(
        self,
        assignment_id: int,
        student_id: int,
        entered_at: str,
        mark: str | None = "5",
        source: str = "portal",
        last_absent_at: str | None = None,
        deleted: bool = False,
    ) -> None:
        a = self.db["assignments"].get(assignment_id)
        self.insert(
            "marks",
            assignment_id=assignment_id,
            student_id=student_id,
            lesson_id=a["lesson_id"],
            subject_group_id=a["subject_group_id"],
            mark=mark,
            mark_value=int(mark) if mark and mark.isdigit() else None,
            duty_mark=1 if mark is None else 0,
            weight=10,
            entered_at=entered_at,
            entered_source=source,
            last_absent_at=last_absent_at,
            deleted_at=SEEN if deleted else None,
        )

    def absence(
        self,
        lesson_id: int,
        student_id: int,
        reason: str = "Н",
        entered_at: str | None = None,
        source: str = "portal",
        last_absent_at: str | None = None,
    ) -> None:
        lesson = self.db["lessons"].get(lesson_id)
        self.insert(
            "attendance",
            lesson_id=lesson_id,
            student_id=student_id,
            subject_group_id=lesson["subject_group_id"],
            reason=reason,
            entered_at=entered_at or f"{lesson['date']}T14:00:00",
            entered_source=source,
            last_absent_at=last_absent_at,
        )

    def period_mark(
        self,
        student_id: int,
        term_id: int,
        entered_at: str,
        mark: str = "5",
        sg_id: int | None = None,
    ) -> None:
        self.insert(
            "period_marks",
            subject_group_id=sg_id or self.sg_id,
            term_id=term_id,
            student_id=student_id,
            mark=mark,
            entered_at=entered_at,
            entered_source="portal",
        )

    def plan(
        self, sg_id: int | None = None, created_date: str | None = "2025-06-01", lessons=()
    ) -> None:
        """A КТП; lessons = [(name, hours, last_study_day, home_assignment), ...]."""
        sg_id = sg_id or self.sg_id
        self.insert(
            "plans",
            subject_group_id=sg_id,
            plan_id=sg_id * 10,
            created_date=created_date,
            lessons_count=len(lessons),
            hours_total=sum(h for _, h, _, _ in lessons),
        )
        for position, (name, hours, day, task) in enumerate(lessons, start=1):
            self.plan_lesson(sg_id, name, hours, day, task, position)

    def plan_lesson(
        self,
        sg_id: int,
        name: str | None,
        hours: int = 1,
        last_study_day: str | None = None,
        task: str | None = "§1",
        position: int = 1,
        kes: str | None = None,
    ) -> int:
        pid = self.next_id()
        self.insert(
            "plan_lessons",
            id=pid,
            subject_group_id=sg_id,
            position=position,
            name=name,
            hours=hours,
            hours_studied=0,
            last_study_day=last_study_day,
            home_assignment=task,
            kes=kes,
        )
        return pid

    def sync_run(self, started_at: str, status: str = "ok") -> int:
        return (
            self.db["sync_runs"]
            .insert(
                {
                    "started_at": started_at,
                    "finished_at": started_at,
                    "status": status,
                    "mode": "full",
                }
            )
            .last_pk
        )

    def change(
        self,
        run_id: int,
        table: str,
        row_key: list,
        kind: str = "update",
        column: str | None = None,
        old: str | None = None,
        new: str | None = None,
    ) -> None:
        """A `changes` row as the sync writes it, seen at the run's start."""
        seen = self.db["sync_runs"].get(run_id)["started_at"]
        self.db["changes"].insert(
            {
                "run_id": run_id,
                "seen_at": seen,
                "table_name": table,
                "row_key": "[" + ", ".join(str(v) for v in row_key) + "]",
                "kind": kind,
                "column_name": column,
                "old_value": old,
                "new_value": new,
            }
        )

    def term_journal(self, term_id: int, students, sg_id: int | None = None) -> None:
        """The pupils one (subject group, term) journal lists."""
        for student in students:
            self.insert(
                "subject_group_term_students",
                subject_group_id=sg_id or self.sg_id,
                term_id=term_id,
                student_id=student,
            )
