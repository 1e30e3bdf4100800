"""Planted-breach rates: the one place that says how dirty the simulated school is.

Each rate is a probability per object named in its comment. Everything else the generator
produces is clean (topics and homework on the day, marks within the regulation's deadlines).
The ground truth never reads these numbers: it re-evaluates the served data (`truth.py`).
"""

from __future__ import annotations

# --- lessons (per held lesson) -------------------------------------------------------------
LESSON_NO_TASK = 0.006  # no typeId 10 / class-work assignment at all → R01, R03
TOPIC_PLACEHOLDER = 0.012  # topic left "---Не указана---" for good → R01
TOPIC_FILLED_LATER = 0.04  # placeholder filled 1–10 days later (clock: R01 until filled)
TOPIC_LATE = 0.012  # topic assignment created 1–4 days after the lesson → R01 (+R03)
NO_HOMEWORK = 0.03  # no typeId 3 assignment → R02 (never on PE lessons)
HOMEWORK_LATE = 0.015  # homework created 1–3 days after the lesson → R02

# --- marks --------------------------------------------------------------------------------
ORAL_LATE = 0.02  # per oral mark: entered 1–3 days late → R05 (warning)
ORAL_VERY_LATE = 0.004  # per oral mark: entered 8–20 days late → R05 + R08
WRITTEN_LATE = 0.06  # per written assignment: all marks 6–7 days late → R06
WRITTEN_VERY_LATE = 0.02  # per written assignment: marks 8–14 days late → R06 + R08
KR_LATE = 0.08  # per КР: marks 8–12 days late → R07 + R08
FUTURE_MARKS = 0.004  # per written assignment: created and marked 1–3 days before the lesson → R09
MARKED_PLACEHOLDER = 0.3  # share of never-filled placeholder topics that carry oral marks → R10
MARKED_EMPTY_NAME = 0.004  # per written assignment: empty name, marked → R10
MARK_CHANGED = 0.02  # per mark: value changed 1–15 days after entry (keeps its date)
MARK_DELETED = 0.01  # per mark: deleted 1–15 days after entry
UNKNOWN_TYPE = 0.01  # per lesson: an extra marked assignment of typeId 40 or 68

# --- attendance (per absence row unless said) -----------------------------------------------
ABSENT_DAY = 0.035  # per pupil and school day: absent from every lesson that day
LATE_ARRIVAL = 0.004  # per pupil and lesson: code «О» (arrived late)
ABSENCE_LATE = 0.02  # row entered 1–3 days after the lesson → R04
REASON_LATE = 0.05  # per absent day: Н turned into УП/НП 8–20 days later → R12 until then
REASON_NEVER = 0.02  # per absent day: Н left for good → R12
RELEASED_PUPILS = 0.02  # per pupil: exempt from PE, marked «ОСВ» there → R11 (violation)
UNKNOWN_CODE = 0.002  # per absence row: code «ОП», which no map knows → R11 (warning)

# --- period marks (per subject group and term unless said) ----------------------------------
PERIOD_MISSING_GROUP = 0.03  # no period marks at all → R13
PERIOD_LATE_GROUP = 0.03  # entered term_end−2 … term_end+4 → R13 (+R14 after term end)
PERIOD_MISSING_PUPIL = 0.005  # per pupil row: missing → R13
PERIOD_CHANGED = 0.01  # per pupil row: changed 1–10 days after term end → R14 (+R13)
PERIOD_NA = 0.01  # per pupil row: «н/а»

# --- КТП (per subject group unless said) ----------------------------------------------------
KTP_MISSING = 0.04  # no plan → R15
KTP_LATE = 0.04  # created 2–20 Sep → R15 violation (and missing before)
KTP_EARLY_WARNING = 0.06  # created 27 Jun – 31 Aug → R15 warning
KTP_WRONG_HOURS = 0.05  # 1–3 plan lessons dropped or added → R16
KTP_NO_CYRILLIC = 0.003  # per plan lesson: a Latin-only name → R17
KTP_EMPTY_TASK = 0.004  # per plan lesson: empty homeAssignment → R17
KTP_EMPTY_NAME = 0.001  # per plan lesson: empty name → R17
PROGRAMME_LAG = 0.05  # 1–3 lessons of one term not held (teacher ill) → R18

# --- rosters --------------------------------------------------------------------------------
SUBGROUP_ERROR_RATE = 0.25  # per (class, split subject): one pupil in none or both subgroups
NO_FIRST_WEEK_CLASSES = 1  # classes with no lesson in 1–7 Sep → R20 (at least one)
LATE_LIST_CLASSES = 1  # classes whose list was formed after 5 Sep → R21
HEALTH_UNFILLED = 0.03  # per pupil: healthGroupFilled false → R21
