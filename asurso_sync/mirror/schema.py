"""The mirror's schema, as sqlite-utils Migrations.

Every table the sync fills is keyed by the portal's own ids and carries the history columns
(`first_seen_at`, `last_seen_at`, `first_seen_run`, `last_seen_run`, `deleted_at`,
`deleted_run`): a row that vanished from the portal is marked deleted, never dropped.
Rows whose entry time matters also carry `entered_at` (school-local time, naive ISO),
`entered_source` (`portal` when the portal dated it, `observed` when only a sync saw it
appear, `initial` when it was already there at the first import) and `last_absent_at`
(school-local time of the last successful sync that did not have it yet).

Only allow-listed fields are stored (152-ФЗ): no addresses, documents, phones, health values.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("asurso_sync")

HISTORY = {
    "first_seen_at": str,
    "last_seen_at": str,
    "first_seen_run": int,
    "last_seen_run": int,
    "deleted_at": str,
    "deleted_run": int,
}
ENTRY = {"entered_at": str, "entered_source": str, "last_absent_at": str}

# table -> primary key column(s); the sync's history bookkeeping reads this.
SYNCED_TABLES: dict[str, tuple[str, ...]] = {
    "schools": ("id",),
    "years": ("id",),
    "terms": ("id",),
    "vacations": ("id",),
    "teachers": ("id",),
    "classes": ("id",),
    "class_teachers": ("class_id", "teacher_id"),
    "subjects": ("id",),
    "subject_groups": ("id",),
    "subject_group_teachers": ("subject_group_id", "teacher_id"),
    "subject_group_terms": ("subject_group_id", "term_id"),
    "students": ("id",),
    "subject_group_students": ("subject_group_id", "student_id"),
    "subject_group_term_students": ("subject_group_id", "term_id", "student_id"),
    "assignment_types": ("id",),
    "attendance_reasons": ("code",),
    "school_settings": ("year_id",),
    "lessons": ("id",),
    "assignments": ("id",),
    "marks": ("assignment_id", "student_id"),
    "attendance": ("lesson_id", "student_id"),
    "period_marks": ("subject_group_id", "term_id", "student_id"),
    "plans": ("subject_group_id",),
    "plan_lessons": ("id",),
    "journal_access": ("id",),
}


def _table(db: Database, name: str, columns: dict, pk, foreign_keys=()) -> None:
    db.table(name).create({**columns, **HISTORY}, pk=pk, foreign_keys=list(foreign_keys))


@migrations()
def m001_portal_tables(db: Database) -> None:
    _table(
        db,
        "schools",
        {"id": int, "name": str, "full_name": str, "director": str, "principal_uvr": str},
        "id",
    )
    _table(db, "years", {"id": int, "name": str, "start_date": str, "end_date": str}, "id")
    _table(
        db,
        "terms",
        {
            "id": int,
            "year_id": int,
            "name": str,
            "term_type_id": int,
            "start_date": str,
            "end_date": str,
        },
        "id",
        [("year_id", "years", "id")],
    )
    _table(
        db,
        "vacations",
        {"id": int, "year_id": int, "name": str, "start_date": str, "end_date": str},
        "id",
    )
    _table(db, "teachers", {"id": int, "name": str}, "id")
    _table(
        db, "classes", {"id": int, "year_id": int, "name": str, "grade": str, "letter": str}, "id"
    )
    _table(
        db,
        "class_teachers",
        {"class_id": int, "teacher_id": int},
        ("class_id", "teacher_id"),
        [("class_id", "classes", "id"), ("teacher_id", "teachers", "id")],
    )
    _table(db, "subjects", {"id": int, "name": str, "short_name": str}, "id")
    _table(
        db,
        "subject_groups",
        {"id": int, "class_id": int, "subject_id": int, "name": str, "hours": int},
        "id",
        [("class_id", "classes", "id"), ("subject_id", "subjects", "id")],
    )
    _table(
        db,
        "subject_group_teachers",
        {"subject_group_id": int, "teacher_id": int},
        ("subject_group_id", "teacher_id"),
        [("subject_group_id", "subject_groups", "id"), ("teacher_id", "teachers", "id")],
    )
    _table(
        db,
        "subject_group_terms",
        {"subject_group_id": int, "term_id": int},
        ("subject_group_id", "term_id"),
        [("subject_group_id", "subject_groups", "id"), ("term_id", "terms", "id")],
    )
    # health_filled: only whether the health/PE-group fields are filled, never their values.
    _table(
        db,
        "students",
        {
            "id": int,
            "class_id": int,
            "full_name": str,
            "free": int,
            "individual_educ": int,
            "added_date": str,
            "health_filled": int,
        },
        "id",
        [("class_id", "classes", "id")],
    )
    _table(
        db,
        "subject_group_students",
        {"subject_group_id": int, "student_id": int},
        ("subject_group_id", "student_id"),
        [("subject_group_id", "subject_groups", "id"), ("student_id", "students", "id")],
    )
    # known = 0 for a typeId the portal's type list did not name (real data has 40, 68, ...)
    _table(
        db,
        "assignment_types",
        {"id": int, "name": str, "abbr": str, "sort_order": int, "known": int},
        "id",
    )
    _table(
        db,
        "attendance_reasons",
        {"code": str, "local_code": str, "name": str, "known": int},
        "code",
    )
    _table(
        db,
        "school_settings",
        {"year_id": int, "min_mark": int, "max_mark": int, "use_weight": int},
        "year_id",
    )
    # A lesson (class meeting). topic/homework are NULL when unset or the placeholder.
    _table(
        db,
        "lessons",
        {
            "id": int,
            "subject_group_id": int,
            "class_id": int,
            "term_id": int,
            "date": str,
            "number": int,
            "is_tkr": int,
            "subject_name": str,
            "plan_lesson_id": int,
            "plan_lesson_name": str,
            "topic": str,
            "homework": str,
        },
        "id",
        [("subject_group_id", "subject_groups", "id"), ("class_id", "classes", "id")],
    )
    _table(
        db,
        "assignments",
        {
            "id": int,
            "lesson_id": int,
            "subject_group_id": int,
            "type_id": int,
            "name": str,
            "weight": int,
            "due_date": str,
            "created_at": str,
            **ENTRY,
        },
        "id",
        [("lesson_id", "lessons", "id")],
    )
    # mark: the portal's value as text ("5", "н/а"); mark_value: the integer when numeric.
    _table(
        db,
        "marks",
        {
            "assignment_id": int,
            "student_id": int,
            "lesson_id": int,
            "subject_group_id": int,
            "mark": str,
            "mark_value": int,
            "duty_mark": int,
            "weight": int,
            **ENTRY,
        },
        ("assignment_id", "student_id"),
        [("assignment_id", "assignments", "id"), ("student_id", "students", "id")],
    )
    _table(
        db,
        "attendance",
        {"lesson_id": int, "student_id": int, "subject_group_id": int, "reason": str, **ENTRY},
        ("lesson_id", "student_id"),
        [("lesson_id", "lessons", "id"), ("student_id", "students", "id")],
    )
    _table(
        db,
        "period_marks",
        {"subject_group_id": int, "term_id": int, "student_id": int, "mark": str, **ENTRY},
        ("subject_group_id", "term_id", "student_id"),
        [
            ("subject_group_id", "subject_groups", "id"),
            ("term_id", "terms", "id"),
            ("student_id", "students", "id"),
        ],
    )
    # The КТП (calendar-thematic plan) of a subject group and its planned lessons.
    _table(
        db,
        "plans",
        {
            "subject_group_id": int,
            "plan_id": int,
            "created_date": str,
            "lessons_count": int,
            "hours_total": int,
        },
        "subject_group_id",
        [("subject_group_id", "subject_groups", "id")],
    )
    _table(
        db,
        "plan_lessons",
        {
            "id": int,
            "subject_group_id": int,
            "position": int,
            "name": str,
            "hours": int,
            "hours_studied": int,
            "last_study_day": str,
            "home_assignment": str,
        },
        "id",
        [("subject_group_id", "subject_groups", "id")],
    )
    # The journal access report (CONTRACT §4): who opened which class journal, first entry a day.
    _table(
        db,
        "journal_access",
        {
            "id": str,
            "user_name": str,
            "role": str,
            "class_id": int,
            "class_name": str,
            "entered_at": str,
        },
        "id",
    )


@migrations()
def m002_bookkeeping(db: Database) -> None:
    db.table("sync_runs").create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "mode": str,
            "since": str,
            "portal_url": str,
            "server_version": str,
            "account_role": str,
            "journals": int,
            "requests": int,
            "counts": str,
            "error": str,
        },
        pk="id",
    )
    db.table("changes").create(
        {
            "id": int,
            "run_id": int,
            "seen_at": str,
            "table_name": str,
            "row_key": str,
            "kind": str,
            "column_name": str,
            "old_value": str,
            "new_value": str,
        },
        pk="id",
        foreign_keys=[("run_id", "sync_runs", "id")],
    )
    db.table("changes").create_index(["table_name", "row_key"])
    db.table("changes").create_index(["run_id"])
    db.table("check_runs").create(
        {
            "id": int,
            "run_at": str,
            "as_of": str,
            "sync_run_id": int,
            "rules": str,
            "counts": str,
        },
        pk="id",
    )
    db.table("violations").create(
        {
            "id": str,
            "rule": str,
            "severity": str,
            "evidence": str,
            "status": str,
            "class_id": int,
            "subject_group_id": int,
            "subject_id": int,
            "teacher_id": int,
            "lesson_id": int,
            "assignment_id": int,
            "student_id": int,
            "term_id": int,
            "object_id": int,
            "lesson_date": str,
            "deadline": str,
            "detail": str,
            "first_found_at": str,
            "first_found_check": int,
            "last_found_at": str,
            "last_found_check": int,
            "fixed_at": str,
            "fixed_check": int,
            "excused_by": str,
        },
        pk="id",
    )
    db.table("violations").create_index(["rule", "status"])
    db.table("violations").create_index(["teacher_id", "status"])
    db.table("job_runs").create(
        {
            "id": int,
            "job": str,
            "scheduled_for": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "error": str,
        },
        pk="id",
    )
    # Who ran what (152-ФЗ ст. 19 ч. 2 п. 8): append-only.
    db.table("audit_log").create(
        {
            "id": int,
            "at": str,
            "os_user": str,
            "command": str,
            "detail": str,
        },
        pk="id",
    )
    db.execute(
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )


@migrations()
def m003_indexes(db: Database) -> None:
    db.table("lessons").create_index(["subject_group_id", "date"])
    db.table("lessons").create_index(["class_id", "date"])
    db.table("assignments").create_index(["lesson_id"])
    db.table("marks").create_index(["lesson_id"])
    db.table("marks").create_index(["student_id"])
    db.table("attendance").create_index(["student_id"])
    db.table("students").create_index(["class_id"])
    db.table("subject_groups").create_index(["class_id"])
    db.table("plan_lessons").create_index(["subject_group_id"])


@migrations()
def m004_rules_violation_keys(db: Database) -> None:
    # The rules engine's key fields that have no column yet, the evidence's certainty
    # (certain/possible for observed entries) and the entry time the finding rests on.
    for column, kind in (
        ("plan_lesson_id", int),
        ("notice_id", str),
        ("certainty", str),
        ("entered_at", str),
        ("key", str),
    ):
        db.table("violations").add_column(column, kind)
    db.table("check_runs").add_column("notices", str)


@migrations()
def m011_rules_addressee_deadline_source(db: Database) -> None:
    # Whom a remark goes to (the rule's addressee role) and where its deadline comes from
    # (`regulation` / `setting` / `none`); a lesson's own teacher (T-11 substitutes) and the
    # КЭС of a КТП lesson, where a portal serves them (NULL otherwise).
    db.table("violations").add_column("addressee", str)
    db.table("violations").add_column("deadline_source", str)
    db.table("lessons").add_column("teacher_id", int)
    db.table("plan_lessons").add_column("kes", str)


@migrations()
def m012_rules_term_journal_students(db: Database) -> None:
    # The pupils each (subject group, term) journal lists: who owes a period mark for the term
    # (T-10). Filled from the journal's `students` where the sync saves it; R13 falls back to
    # `subject_group_students` (every term's pupils) for a journal without rows here.
    _table(
        db,
        "subject_group_term_students",
        {"subject_group_id": int, "term_id": int, "student_id": int},
        ("subject_group_id", "term_id", "student_id"),
    )


@migrations()
def m030_documents_issued_lists(db: Database) -> None:
    # Documents (D1): each remarks list actually issued to a teacher — rendered for them or
    # handed over — so that «В прошлом списке» compares with a list the teacher saw.
    db.table("documents_issued_lists").create(
        {
            "id": int,
            "teacher_id": int,
            "period": str,  # the period's slug: 2026-11, term2, …
            "issued_at": str,  # UTC, ISO with offset
            "issued_by": str,
            "how": str,  # rendered | handed
            "note": str,
        },
        pk="id",
    )
    db.table("documents_issued_lists").create_index(["teacher_id", "issued_at"])


@migrations()
def m020_sync_scopes(db: Database) -> None:
    # Scopes a run left untouched because their answer did not fit (issue 11): the endpoint,
    # the ids of the scope (JSON), the one-line reason. The next run fetches them again.
    db.table("sync_skipped_scopes").create(
        {"id": int, "run_id": int, "endpoint": str, "scope": str, "error": str},
        pk="id",
        foreign_keys=[("run_id", "sync_runs", "id")],
    )
    db.table("sync_skipped_scopes").create_index(["run_id"])
    # The portal's version as it reported itself (logindata / context) during the run.
    db.table("sync_runs").add_column("portal_version", str)
    # What the sync reads one scope at a time.
    db.table("lessons").create_index(["subject_group_id", "term_id"])
    db.table("journal_access").create_index(["class_id", "entered_at"])


@migrations()
def m040_portal_doctor(db: Database) -> None:
    # `asurso-sync doctor`: each run's verdict and its table (JSON), for `status` and the web page.
    db.table("doctor_runs").create(
        {
            "id": int,
            "run_at": str,
            "portal_url": str,
            "server_version": str,
            "ok": int,
            "cause": str,
            "report_path": str,
            "result": str,
        },
        pk="id",
    )


@migrations()
def m041_portal_access_details(db: Database) -> None:
    # The journal access report's real layouts (CONTRACT §7): the group, the action, the lesson's
    # date, and which layout the row was read from ("contract", "2013", "2018").
    for column in ("subject_name", "action", "lesson_date", "layout"):
        db.table("journal_access").add_column(column, str)


@migrations()
def m021_sync_scope_digests(db: Database) -> None:
    # The digest of each journal page / КТП answer as last saved (issue 14): an unchanged answer
    # is not compared row by row again. run_id: the last run that saw this very answer.
    db.table("sync_scope_digests").create({"scope": str, "digest": str, "run_id": int}, pk="scope")


@migrations()
def m011_web_indexes(db: Database) -> None:
    # the web page's remarks filters (class, period, status) and its sync/job error lists
    db.table("violations").create_index(["class_id", "status"], if_not_exists=True)
    db.table("violations").create_index(["lesson_date"], if_not_exists=True)
    db.table("violations").create_index(["subject_group_id"], if_not_exists=True)
    db.table("sync_runs").create_index(["status"], if_not_exists=True)
    db.table("job_runs").create_index(["status"], if_not_exists=True)


@migrations()
def m050_perf_scope_summaries(db: Database) -> None:
    # What an unchanged journal answer held that the end of a run needs (row counts, the pupils,
    # group members, assignment types and absence codes it named), so that an answer identical
    # to the saved one is neither parsed nor compared again (issue 14). NULL: none kept.
    db.table("sync_scope_digests").add_column("summary", str)
