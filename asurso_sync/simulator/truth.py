"""Ground truth: an independent evaluator of the rule table of docs/design.md (default config).

It reads the school only through `served.View` — what the portal shows at the end of `as_of` —
and never looks at what the generator planted (`rates.py`). It reads the Положение itself
(issue 13): R04 is the subject teacher's Н/О only; R13 is owed by the pupils on the list by the
deadline; subgroups are groups of one subject running in one term; «осв» in any case and
anywhere; one late mark is one remark under its most specific rule. R24 rests on the mirror's
own sync history (what a sync saw change), which a snapshot cannot know: not checkable here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from asurso_sync.simulator import names as N
from asurso_sync.simulator.model import School
from asurso_sync.simulator.served import View

DEFAULTS: dict[str, Any] = {
    "topic_days": 0,
    "hw_days": 0,
    "att_days": 0,
    "oral_days": 0,
    "written_days": 5,
    "kr_days": 7,
    "any_days": 7,
    "reason_days": 7,
    "final_offset_days": 3,
    "lag_tolerance": 0,
    "hw_exempt_subjects": [],
    # the text's codes, compared without case; «Б» is not in the text's list
    "codes": {"Н": ["Н"], "О": ["О"], "осв": ["осв"], "reasons": ["УП", "НП"]},
    "oral_types": ["Ответ на уроке", "Устный развернутый ответ"],
    "written_types": [
        "Самостоятельная работа",
        "Диктант",
        "Сочинение",
        "Изложение",
        "Тестирование",
        "Проверочная работа",
        "Практическая работа",
        "Лабораторная работа",
    ],
    "kr_types": ["Контрольная работа", "Диагностическая контрольная работа"],
    "ktp_deadline": "08-31",
    "ktp_early_deadline": "06-26",
}
KEYS = (
    "assignment_id",
    "student_id",
    "lesson_id",
    "subject_group_id",
    "class_id",
    "term_id",
    "subject_id",
    "plan_lesson_id",
)
NOT_CHECKABLE = ["R22", "R23", "R24"]
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
LATIN = re.compile("[a-z]", re.IGNORECASE)
YEAR_WORDS = ("год", "итог")
DAY = dt.timedelta(days=1)
SEVERITY = {"R05": "warning", "R14": "info"}
RULE_KEYS = {
    "R01": ("lesson_id",),
    "R02": ("lesson_id",),
    "R03": ("lesson_id",),
    "R04": ("lesson_id", "student_id"),
    "R05": ("assignment_id", "student_id"),
    "R06": ("assignment_id", "student_id"),
    "R07": ("assignment_id", "student_id"),
    "R08": ("assignment_id", "student_id"),
    "R09": ("assignment_id", "student_id"),
    "R10": ("assignment_id",),
    "R11": ("lesson_id", "assignment_id", "subject_group_id", "term_id", "student_id"),
    "R12": ("lesson_id", "student_id"),
    "R13": ("subject_group_id", "term_id", "student_id"),
    "R14": ("subject_group_id", "term_id", "student_id"),
    "R15": ("subject_group_id",),
    "R16": ("subject_group_id",),
    "R17": ("plan_lesson_id",),
    "R18": ("subject_group_id", "term_id"),
    "R19": ("class_id", "subject_id", "student_id"),
    "R20": ("class_id",),
    "R21": ("class_id", "student_id"),
    "R25": ("lesson_id",),
}


def truth_key(item: dict[str, Any]) -> tuple:
    """(rule, key fields...) — what the tests compare with `check`'s findings."""
    return (item["rule"], *(item.get(k) for k in RULE_KEYS[item["rule"]]))


def _day(stamp: str) -> dt.date:
    return dt.date.fromisoformat(stamp[:10])


def _named(name: str) -> bool:
    """A real name: not empty and not the placeholder (R01, R02, R10)."""
    return bool(name.strip()) and name != N.PLACEHOLDER


class _Evaluator:
    def __init__(self, school: School, as_of: dt.date, day_kind: str = "calendar") -> None:
        self.s = school
        self.v = View(school, as_of)
        self.a = as_of
        self.c = DEFAULTS
        self.day_kind = day_kind
        cal = school.calendar
        self.days_off = set(cal.holidays)
        for vacation in cal.vacations:
            day = vacation.start
            while day <= vacation.end:
                self.days_off.add(day)
                day += DAY
        self.out: list[dict[str, Any]] = []
        types = {i: name for i, (name, _abbr) in N.ASSIGNMENT_TYPES.items()}
        self.type_names = types
        codes = {k: {c.upper() for c in v} for k, v in self.c["codes"].items()}
        self.code_n, self.code_osv = codes["Н"], codes["осв"]
        self.code_own = codes["Н"] | codes["О"]  # what the subject teacher marks (T-7)
        self.known_codes = {c for values in codes.values() for c in values}

    def add(self, rule: str, severity: str | None = None, **keys: Any) -> None:
        """One violation; `deadline` and `lesson_date` (dates) may come among the keys."""
        deadline: dt.date | None = keys.pop("deadline", None)
        lesson_date: dt.date | None = keys.pop("lesson_date", None)
        item: dict[str, Any] = {
            "rule": rule,
            "severity": severity or SEVERITY.get(rule, "violation"),
        }
        for k in KEYS:
            item[k] = keys.get(k)
        item["lesson_date"] = lesson_date.isoformat() if lesson_date else None
        item["deadline"] = deadline.isoformat() if deadline else None
        self.out.append(item)

    def after(self, day: dt.date, n: int) -> dt.date:
        """`day` plus n days (minus when n < 0): calendar days, or with day_kind "school" the
        school's own days (Mon–Fri, not its holidays or vacations)."""
        if self.day_kind == "calendar" or n == 0:
            return day + n * DAY
        step = DAY if n > 0 else -DAY
        left = abs(n)
        while left:
            day += step
            if day.weekday() < 5 and day not in self.days_off:
                left -= 1
        return day

    def lesson_keys(self, lesson: Any) -> dict[str, Any]:
        g = self.s.groups[lesson.sg_id]
        return {
            "lesson_id": lesson.id,
            "subject_group_id": g.id,
            "class_id": g.class_id,
            "subject_id": g.subject_id,
            "term_id": None,
            "lesson_date": lesson.date,
        }

    def run(self) -> list[dict[str, Any]]:
        self.lessons()
        self.periods()
        self.planning()
        self.rosters()
        self.out.sort(key=lambda x: (x["rule"], *(x[k] if x[k] is not None else -1 for k in KEYS)))
        return self.out

    # --- R01–R12 -------------------------------------------------------------------------------
    def lessons(self) -> None:
        s, v, c = self.s, self.v, self.c
        oral, written, kr = set(c["oral_types"]), set(c["written_types"]), set(c["kr_types"])
        exempt = set(c["hw_exempt_subjects"])
        for lesson in s.lessons.values():
            if not v.lesson_ok(lesson):
                continue
            d = lesson.date
            keys = self.lesson_keys(lesson)
            subject = s.subjects[keys["subject_id"]].name
            shown = []
            for a in s.assignments_by_lesson.get(lesson.id, ()):
                state = v.assignment(a)
                if state is not None:
                    shown.append((a, state[0], _day(state[1])))
            # R01: some named typeId 10 topic created by D + topic_days (a second, late or
            # unnamed typeId 10 beside it does not matter; a late one alone implies D < A).
            t_deadline = self.after(d, c["topic_days"])
            ok = any(
                a.type_id == 10 and _named(name) and created <= t_deadline
                for a, name, created in shown
            )
            if t_deadline < self.a and not ok:
                self.add("R01", deadline=t_deadline, **keys)
            # R02: named homework (an empty/placeholder typeId 3 is none) created by D + hw_days.
            h_deadline = self.after(d, c["hw_days"])
            has_hw = any(
                a.type_id == 3 and _named(name) and created <= h_deadline
                for a, name, created in shown
            )
            if subject not in exempt and h_deadline < self.a and not has_hw:
                self.add("R02", deadline=h_deadline, **keys)
            # R03: some non-homework assignment by D + topic_days.
            if t_deadline < self.a and not any(
                a.type_id != 3 and created <= t_deadline for a, _n, created in shown
            ):
                self.add("R03", deadline=t_deadline, **keys)
            # R04, R11, R12: absences.
            for ab in s.absences_by_lesson.get(lesson.id, ()):
                state = v.absence(ab)
                if state is None:
                    continue
                reason, entered = (state[0] or "").upper(), _day(state[1])
                akeys = dict(keys, student_id=ab.student_id)
                a_deadline = self.after(d, c["att_days"])
                # R04: only the subject teacher's own Н/О; a reason is the class teacher's
                if reason in self.code_own and entered > a_deadline:
                    self.add("R04", deadline=a_deadline, **akeys)
                if reason in self.code_osv:
                    self.add("R11", "violation", deadline=d, **akeys)
                elif reason not in self.known_codes:
                    self.add("R11", "warning", deadline=d, **akeys)
                r_deadline = self.after(d, c["reason_days"])
                if reason in self.code_n and r_deadline < self.a:
                    self.add("R12", deadline=r_deadline, **akeys)
            # R25: named topics and homework in another language (Latin, no Cyrillic letter)
            if any(
                a.type_id in (3, 10)
                and _named(name)
                and LATIN.search(name)
                and not CYRILLIC.search(name)
                for a, name, _created in shown
            ):
                self.add("R25", **keys)
            # R05–R10: marks.
            for a, name, _created in shown:
                type_name = self.type_names.get(a.type_id)
                marked = False
                for m in s.marks_by_assignment.get(a.id, ()):
                    served = v.mark(m)
                    if served is None:
                        continue
                    marked = True
                    entered = _day(served[1])
                    mkeys = dict(keys, assignment_id=a.id, student_id=m.student_id)
                    lock = self.after(d, c["any_days"])
                    own_rule = False  # one late mark, one remark: its type's rule first
                    for rule, types, days in (
                        ("R05", oral, c["oral_days"]),
                        ("R06", written, c["written_days"]),
                        ("R07", kr, c["kr_days"]),
                    ):
                        due = self.after(d, days)
                        if type_name in types and entered > due:
                            own_rule = True
                            severity = "violation" if rule == "R05" and entered > lock else None
                            self.add(rule, severity, deadline=due, **mkeys)
                    if entered > lock and not own_rule:
                        self.add("R08", deadline=lock, **mkeys)
                    if entered < d:
                        self.add("R09", deadline=d, **mkeys)
                    if str(served[0] or "").strip().upper() in self.code_osv:
                        self.add("R11", "violation", deadline=d, **mkeys)
                if marked and not _named(name):
                    self.add("R10", deadline=d, **dict(keys, assignment_id=a.id))

    # --- R13–R14 -------------------------------------------------------------------------------
    def periods(self) -> None:
        s, v = self.s, self.v
        for g in s.groups.values():
            pupils = v.group_students(g.id)
            for term in self.group_terms(g.id, with_year=True):
                deadline = self.after(term.end, -self.c["final_offset_days"])
                entered: dict[int, dt.date] = {}
                for pm in s.period_by_group_term.get((g.id, term.id), ()):
                    state = v.period_mark(pm)
                    if state is not None:
                        entered[pm.student_id] = _day(state[1])
                        if str(state[0] or "").strip().upper() in self.code_osv:
                            self.add(
                                "R11",
                                "violation",
                                student_id=pm.student_id,
                                subject_group_id=g.id,
                                term_id=term.id,
                                class_id=g.class_id,
                                subject_id=g.subject_id,
                            )
                keys = {
                    "subject_group_id": g.id,
                    "term_id": term.id,
                    "class_id": g.class_id,
                    "subject_id": g.subject_id,
                }
                for sid, day in entered.items():
                    if day > term.end:
                        self.add("R14", deadline=term.end, student_id=sid, **keys)
                if deadline < self.a:
                    for sid in pupils:
                        if _day(s.students[sid].added) > deadline:
                            continue  # put on the list after the deadline: owes no mark yet
                        if sid not in entered or entered[sid] > deadline:
                            self.add("R13", deadline=deadline, student_id=sid, **keys)

    # --- R15–R18 -------------------------------------------------------------------------------
    def planning(self) -> None:
        s, v = self.s, self.v
        y = s.year_start
        deadline = dt.date(y, *map(int, self.c["ktp_deadline"].split("-")))
        early = dt.date(y, *map(int, self.c["ktp_early_deadline"].split("-")))
        year_first = min(t.start for t in s.calendar.terms)
        for g in s.groups.values():
            keys: dict[str, Any] = {
                "subject_group_id": g.id,
                "class_id": g.class_id,
                "subject_id": g.subject_id,
            }
            plan = v.plan(g.id)
            # a group opened mid-year: its plan is due when it opens, not by 31 August
            year_plan = min(t.start for t in self.group_terms(g.id)) <= year_first
            if plan is None:
                if year_plan and deadline < self.a:
                    self.add("R15", deadline=deadline, **keys)
                elif year_plan and early < self.a:  # 26 Jun < A ≤ 31 Aug: warned
                    self.add("R15", "warning", deadline=early, **keys)
                continue
            created = _day(plan.created)
            if year_plan and created > deadline:
                self.add("R15", "violation", deadline=deadline, **keys)
            elif year_plan and created > early:
                self.add("R15", "warning", deadline=early, **keys)
            if sum(pl.hours for pl in plan.lessons) != g.hours:
                self.add("R16", **keys)
            for pl in plan.lessons:
                if not pl.name.strip() or not CYRILLIC.search(pl.name) or not pl.task.strip():
                    self.add("R17", plan_lesson_id=pl.id, **keys)
            held_dates = [les.date for les in s.lessons_by_group.get(g.id, ()) if v.lesson_ok(les)]
            for term in (t for t in self.group_terms(g.id) if t.end < self.a):
                planned = sum(1 for pl in plan.lessons if pl.last_study_day <= term.end)
                held = sum(1 for d in held_dates if d <= term.end)
                if planned - held > self.c["lag_tolerance"]:
                    self.add("R18", deadline=term.end, term_id=term.id, **keys)

    # --- R19–R21 -------------------------------------------------------------------------------
    def rosters(self) -> None:
        s, v = self.s, self.v
        y = s.year_start
        first_week_end = dt.date(y, 9, 7)
        list_day = dt.date(y, 9, 5)
        for k in s.classes.values():
            pupils = v.class_students(k.id)
            groups = s.groups_by_class.get(k.id, [])
            # subgroups: groups of one subject taught in the same term (T-2)
            running: dict[tuple[int, int], list[set[int]]] = {}
            for g in groups:
                for term_id in s.group_terms(g.id):
                    running.setdefault((g.subject_id, term_id), []).append(
                        set(v.group_students(g.id))
                    )
            flagged: set[tuple[int, int]] = set()
            for (subject_id, _term), members in running.items():
                if len(members) < 2:
                    continue
                for sid in pupils:
                    if sum(sid in m for m in members) != 1 and (subject_id, sid) not in flagged:
                        flagged.add((subject_id, sid))
                        self.add("R19", class_id=k.id, subject_id=subject_id, student_id=sid)
            if first_week_end < self.a and not self._held_in_first_week(groups, first_week_end):
                self.add("R20", deadline=first_week_end, class_id=k.id)
            if self.a <= list_day:
                continue  # R21 applies once the list deadline (5 Sep) has passed
            # the list was empty on 5 Sep: no pupil at all, or every pupil added later
            if not any(_day(s.students[sid].added) <= list_day for sid in pupils):
                self.add("R21", deadline=list_day, class_id=k.id)
            for sid in pupils:
                if not s.students[sid].health_filled:
                    self.add("R21", class_id=k.id, student_id=sid)

    def group_terms(self, sg_id: int, with_year: bool = False) -> list[Any]:
        """The terms of the year the subject group is taught in (`subjectgroups` `terms`);
        with_year adds the «год»/«итог» periods the school serves (every group has them)."""
        own = set(self.s.group_terms(sg_id))
        return [
            t
            for t in self.s.calendar.terms
            if t.id in own or (with_year and any(w in t.name.lower() for w in YEAR_WORDS))
        ]

    def _held_in_first_week(self, groups: list[Any], week_end: dt.date) -> bool:
        for g in groups:
            for les in self.s.lessons_by_group.get(g.id, ()):  # sorted by date
                if les.date > week_end:
                    break
                if self.v.lesson_ok(les):
                    return True
        return False


def ground_truth(
    school: School, as_of: dt.date | None = None, day_kind: str = "calendar"
) -> dict[str, Any]:
    """Every violation of R01–R21 and R25 in the school as served at the end of `as_of`; with
    day_kind "school" the deadlines count the school's study days (its holidays and vacations
    skipped), as `[rules] day_kind = "school"` does."""
    as_of = as_of or dt.date.today()
    return {
        "size": school.size,
        "seed": school.seed,
        "as_of": as_of.isoformat(),
        "rules_config": "defaults" if day_kind == "calendar" else f"day_kind={day_kind}",
        "violations": _Evaluator(school, as_of, day_kind).run(),
        "not_checkable": list(NOT_CHECKABLE),
    }
