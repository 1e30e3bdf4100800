"""The `[schedule]` section: when each job runs, in the school's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from asurso_sync.documents import resolve_kind
from asurso_sync.errors import AsursoSyncError, ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
JOB_NAMES = (
    "nightly",
    "weekly-report",
    "monthly-report",
    "term-report",
    "fixity-fast",
    "fixity-full",
)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class ScheduleSettings:
    """Every key of `[schedule]` with its default (see config.example.toml)."""

    timezone: str = "Europe/Samara"
    nightly_time: str = "02:30"
    weekly_day: str = "mon"
    weekly_time: str = "07:00"
    monthly_day: int = 1
    monthly_time: str = "07:30"
    term_report_time: str = "08:00"
    fixity_day: str = "sun"
    fixity_fast_time: str = "03:30"
    fixity_full_time: str = "04:00"
    misfire_grace_s: int = 6 * 3600
    catch_up: bool = True
    disabled: tuple[str, ...] = ()
    reports_dir: str = "reports"
    report_format: str = "html"
    weekly_reports: tuple[str, ...] = ("activity",)
    monthly_reports: tuple[str, ...] = ("remarks", "filling")
    term_reports: tuple[str, ...] = ("remarks", "filling", "attendance")
    email_reports: bool = True

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def hour_minute(self, key: str) -> tuple[int, int]:
        """("HH", "MM") of a time key as integers."""
        hh, mm = getattr(self, key).split(":")
        return int(hh), int(mm)

    def enabled(self, job: str) -> bool:
        return job not in self.disabled


def parse_schedule_settings(
    table: dict[str, Any], default_timezone: str | None = None
) -> ScheduleSettings:
    """Validate `[schedule]`; the time zone falls back to `[sync] timezone`, then Europe/Samara."""
    names = {f.name: f for f in fields(ScheduleSettings)}
    unknown = sorted(set(table) - set(names))
    if unknown:
        raise ConfigError(f"[schedule] has unknown key(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    if default_timezone and "timezone" not in table:
        values["timezone"] = default_timezone
    for key, value in table.items():
        default = names[key].default
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"[schedule] {key} must be true or false")
        elif isinstance(default, int):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(f"[schedule] {key} must be a whole number")
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"[schedule] {key} must be a list of strings")
            value = tuple(value)
        elif not isinstance(value, str):
            raise ConfigError(f"[schedule] {key} must be a string")
        values[key] = value
    settings = ScheduleSettings(**values)
    _validate(settings)
    return settings


def _validate(s: ScheduleSettings) -> None:
    try:
        ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[schedule] timezone {s.timezone!r} is not a known time zone") from None
    for key in (
        "nightly_time",
        "weekly_time",
        "monthly_time",
        "term_report_time",
        "fixity_fast_time",
        "fixity_full_time",
    ):
        if not _TIME.match(getattr(s, key)):
            raise ConfigError(f"[schedule] {key} must be HH:MM (24-hour), got {getattr(s, key)!r}")
    for key in ("weekly_day", "fixity_day"):
        if getattr(s, key) not in DAYS:
            raise ConfigError(f"[schedule] {key} must be one of {', '.join(DAYS)}")
    if not 1 <= s.monthly_day <= 28:
        raise ConfigError("[schedule] monthly_day must be between 1 and 28")
    if s.misfire_grace_s < 1:
        raise ConfigError("[schedule] misfire_grace_s must be at least 1 second")
    bad = sorted(set(s.disabled) - set(JOB_NAMES))
    if bad:
        raise ConfigError(
            f"[schedule] disabled names unknown job(s) {', '.join(bad)}; jobs: {', '.join(JOB_NAMES)}"
        )
    if s.report_format not in ("html", "pdf"):
        raise ConfigError("[schedule] report_format must be html or pdf")


def schedule_settings(config) -> ScheduleSettings:
    """The `[schedule]` settings of a loaded Config, report names checked with the documents."""
    settings = parse_schedule_settings(config.section("schedule"), config.sync.timezone)
    _check_report_kinds(settings)
    return settings


def _check_report_kinds(settings: ScheduleSettings) -> None:
    """An unknown document name fails at start, not at 07:00 on a Monday."""
    for key in ("weekly_reports", "monthly_reports", "term_reports"):
        for kind in getattr(settings, key):
            try:
                resolve_kind(kind)
            except AsursoSyncError as exc:
                raise ConfigError(f"[schedule] {key}: {exc}") from None
