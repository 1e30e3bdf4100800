"""The `[rules]` config section: every convention of domain.md §1.1 and contradiction §1.3.

Parsed once into a frozen `RuleSettings`; every mistake is a `ConfigError` naming the key, so a
school finds out at start-up, not in the middle of a nightly check.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from asurso_sync.errors import ConfigError

DEFAULT_ORAL = ("Ответ на уроке", "Устный развернутый ответ")
DEFAULT_WRITTEN = (
    "Самостоятельная работа",
    "Диктант",
    "Сочинение",
    "Изложение",
    "Тестирование",
    "Проверочная работа",
    "Практическая работа",
    "Лабораторная работа",
)
DEFAULT_KR = ("Контрольная работа", "Диагностическая контрольная работа")
# The text's own codes (Регламент: учитель п. 7, классный руководитель п. 2). Codes compare
# case-insensitively, so «осв» also names the portal's «ОСВ»; «Б» is not in the text's list and
# is a reason only where a school configures it.
DEFAULT_CODES = {"Н": ("Н",), "О": ("О",), "осв": ("осв",), "reasons": ("УП", "НП")}
EVIDENCE_LEVELS = ("certain", "possible", "unknown")
ALL_RULES = tuple(f"R{n:02d}" for n in range(1, 26))


@dataclass(frozen=True)
class Exemption:
    """A finding of `rule` for this subject and/or class (names; empty = any) is not reported."""

    rule: str = ""
    subject: str = ""
    class_name: str = ""


@dataclass(frozen=True)
class RuleSettings:
    tz: str = "Europe/Samara"
    deadline_time: str = "23:59:59"
    day_kind: str = "calendar"
    # school days a week (5 or 6): which days `day_kind = "school"` counts, with the Russian
    # production calendar's holidays and transfers
    week: int = 5
    grace_hours: float = 0.0
    evidence: str = "possible"
    placeholder: str = "---Не указана---"
    topic_type: str = "Ответ на уроке"
    homework_type: str = "Домашнее задание"
    topic_days: int = 0
    hw_days: int = 0
    att_days: int = 0
    oral_days: int = 0
    written_days: int = 5
    # C12: count written work from the lesson it belongs to, or from its due date (an essay
    # handed in days later)
    written_anchor: str = "lesson_date"
    kr_days: int = 7
    mark_days: int = 7
    reason_days: int = 7
    hw_min_share: float = 1.0
    hw_exempt_subjects: tuple[str, ...] = ()
    final_offset_days: int = 3
    order_deadline: dict[str, str] = field(default_factory=dict)
    ktp_deadline: str = "08-31"
    ktp_early_deadline: str = "06-26"
    ktp_tolerance: int = 0
    lag_tolerance: int = 0
    first_week_days: int = 7
    roster_deadline: str = "09-05"
    oral_types: tuple[str, ...] = DEFAULT_ORAL
    written_types: tuple[str, ...] = DEFAULT_WRITTEN
    kr_types: tuple[str, ...] = DEFAULT_KR
    codes: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_CODES))
    unlock_register: str = ""
    unlock_hours: float = 12.0
    r23_register: str = ""
    r23_days: int = 3
    attribution: str = "subject_group"
    # Z-1: a remark not fixed this many days after it was first found is escalated
    fix_days: int = 30
    exempt: tuple[Exemption, ...] = ()
    skip: tuple[str, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def code_set(self, name: str) -> frozenset[str]:
        """The portal codes a name maps to, upper-cased (codes compare case-insensitively)."""
        return frozenset(code.upper() for code in self.codes.get(name, ()))

    @property
    def mapped_codes(self) -> frozenset[str]:
        return frozenset(code.upper() for codes in self.codes.values() for code in codes)


_INT_KEYS = {
    "topic_days",
    "hw_days",
    "att_days",
    "oral_days",
    "written_days",
    "kr_days",
    "mark_days",
    "reason_days",
    "final_offset_days",
    "ktp_tolerance",
    "lag_tolerance",
    "first_week_days",
    "r23_days",
    "week",
    "fix_days",
}
_FLOAT_KEYS = {"grace_hours", "hw_min_share", "unlock_hours"}
_STR_KEYS = {
    "tz",
    "deadline_time",
    "day_kind",
    "evidence",
    "placeholder",
    "topic_type",
    "homework_type",
    "ktp_deadline",
    "ktp_early_deadline",
    "roster_deadline",
    "unlock_register",
    "r23_register",
    "attribution",
    "written_anchor",
}
_LIST_KEYS = {"hw_exempt_subjects", "oral_types", "written_types", "kr_types", "skip"}
_TABLE_KEYS = {"order_deadline", "codes", "exempt"}
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")


def parse_rule_settings(table: dict[str, Any], default_tz: str = "Europe/Samara") -> RuleSettings:
    """Validate the raw `[rules]` table (and its sub-tables) into RuleSettings."""
    known = _INT_KEYS | _FLOAT_KEYS | _STR_KEYS | _LIST_KEYS | _TABLE_KEYS
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"[rules] has unknown key(s): {', '.join(unknown)}")
    values: dict[str, Any] = {"tz": default_tz}
    for key, value in table.items():
        if key in _INT_KEYS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"[rules] {key} must be a whole number ≥ 0")
        elif key in _FLOAT_KEYS:
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"[rules] {key} must be a number ≥ 0")
            value = float(value)
        elif key in _STR_KEYS:
            if not isinstance(value, str):
                raise ConfigError(f"[rules] {key} must be a string")
        elif key in _LIST_KEYS:
            value = _str_list(f"[rules] {key}", value)
        values[key] = value
    if "order_deadline" in table:
        values["order_deadline"] = _order_deadlines(table["order_deadline"])
    if "codes" in table:
        values["codes"] = _codes(table["codes"])
    if "exempt" in table:
        values["exempt"] = _exemptions(table["exempt"])
    settings = RuleSettings(**values)
    _validate(settings)
    return settings


def _str_list(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(value)


def _order_deadlines(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConfigError('[rules.order_deadline] must be a table: term name = "YYYY-MM-DD"')
    out = {}
    for term, day in value.items():
        try:
            dt.date.fromisoformat(str(day))
        except ValueError:
            raise ConfigError(
                f"[rules.order_deadline] {term!r} must be a date YYYY-MM-DD"
            ) from None
        out[str(term)] = str(day)
    return out


def _codes(value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise ConfigError("[rules.codes] must be a table")
    unknown = sorted(set(value) - set(DEFAULT_CODES))
    if unknown:
        raise ConfigError(
            f"[rules.codes] has unknown key(s): {', '.join(unknown)} (known: Н, О, осв, reasons)"
        )
    codes = dict(DEFAULT_CODES)
    for name, items in value.items():
        codes[name] = _str_list(f"[rules.codes] {name}", items)
    seen: dict[str, str] = {}
    for name, items in codes.items():
        for code in items:
            code = code.upper()
            if code in seen and seen[code] != name:
                raise ConfigError(f"[rules.codes] code {code!r} is in both {seen[code]} and {name}")
            seen[code] = name
    return codes


def _exemptions(value: Any) -> tuple[Exemption, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError("[[rules.exempt]] must be a list of tables {rule, subject, class}")
    out = []
    for item in value:
        unknown = sorted(set(item) - {"rule", "subject", "class"})
        if unknown:
            raise ConfigError(f"[[rules.exempt]] has unknown key(s): {', '.join(unknown)}")
        rule = str(item.get("rule", ""))
        if rule and rule not in ALL_RULES:
            raise ConfigError(f"[[rules.exempt]] rule {rule!r} is not one of R01–R25")
        if not item.get("subject") and not item.get("class"):
            raise ConfigError("[[rules.exempt]] needs a subject or a class")
        out.append(Exemption(rule, str(item.get("subject", "")), str(item.get("class", ""))))
    return tuple(out)


def _validate(s: RuleSettings) -> None:
    try:
        ZoneInfo(s.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[rules] tz {s.tz!r} is not a known time zone") from None
    try:
        dt.time.fromisoformat(s.deadline_time)
    except ValueError:
        raise ConfigError("[rules] deadline_time must be HH:MM:SS") from None
    if s.day_kind not in ("calendar", "school"):
        raise ConfigError('[rules] day_kind must be "calendar" or "school"')
    if s.week not in (5, 6):
        raise ConfigError("[rules] week must be 5 or 6 (school days a week)")
    if s.evidence not in EVIDENCE_LEVELS:
        raise ConfigError(f"[rules] evidence must be one of {', '.join(EVIDENCE_LEVELS)}")
    if s.written_anchor not in ("lesson_date", "due_date"):
        raise ConfigError('[rules] written_anchor must be "lesson_date" or "due_date"')
    if s.attribution not in ("subject_group", "class_teacher"):
        raise ConfigError('[rules] attribution must be "subject_group" or "class_teacher"')
    if s.hw_min_share > 1:
        raise ConfigError("[rules] hw_min_share must be between 0 and 1")
    for key in ("ktp_deadline", "ktp_early_deadline", "roster_deadline"):
        value = getattr(s, key)
        if value and not _month_day_ok(value):
            raise ConfigError(f'[rules] {key} must be MM-DD (or "" to switch it off)')
    overlap = sorted(set(s.written_types) & set(s.kr_types))
    if overlap:
        raise ConfigError(
            "[rules] written_types and kr_types overlap ("
            + ", ".join(overlap)
            + "): a type must be in one set only (the more specific kr_types wins, domain §1.3 C2)"
        )
    unknown = sorted(set(s.skip) - set(ALL_RULES))
    if unknown:
        raise ConfigError(f"[rules] skip names unknown rule(s): {', '.join(unknown)}")


def _month_day_ok(value: str) -> bool:
    match = _MONTH_DAY.match(value)
    if not match:
        return False
    try:
        dt.date(2024, int(match.group(1)), int(match.group(2)))
    except ValueError:
        return False
    return True


def month_day(year: int, value: str) -> dt.date | None:
    """`MM-DD` of `year` (None when the key is switched off with "")."""
    if not value:
        return None
    month, day = value.split("-")
    return dt.date(year, int(month), int(day))


def load_rule_settings(config: Any) -> RuleSettings:
    """RuleSettings from a loaded Config (its `[rules]` section; tz defaults to [sync] timezone)."""
    settings = parse_rule_settings(config.section("rules"), default_tz=config.sync.timezone)
    if settings.unlock_register:
        settings = replace(settings, unlock_register=str(config.resolve(settings.unlock_register)))
    if settings.r23_register:
        settings = replace(settings, r23_register=str(config.resolve(settings.r23_register)))
    return settings
