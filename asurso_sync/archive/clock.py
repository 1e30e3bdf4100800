"""The school's clock for what people read: `[sync] timezone`, Russian formats.

The register keeps UTC (ISO 8601); acts, D10 and the command line show school-local dates
and times as `02.12.2026 02:16`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from asurso_sync.config import Config
from asurso_sync.errors import ConfigError


def school_zone(config: Config) -> ZoneInfo:
    try:
        return ZoneInfo(config.sync.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[sync] timezone {config.sync.timezone!r} is not a time zone") from None


def local_now(config: Config) -> datetime:
    return datetime.now(UTC).astimezone(school_zone(config))


def local_today(config: Config) -> date:
    return local_now(config).date()


def fmt_day(day: date | None) -> str:
    """01.01.2032 (— for none)."""
    return day.strftime("%d.%m.%Y") if day else "—"


def fmt_moment(moment: datetime | str | None, config: Config) -> str:
    """A UTC moment (datetime or ISO text) as school-local `02.12.2026 02:16`."""
    if moment is None or moment == "":
        return "—"
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(school_zone(config)).strftime("%d.%m.%Y %H:%M")


def local_day_of(moment: str, config: Config) -> date:
    """The school-local date of a UTC ISO moment."""
    when = datetime.fromisoformat(moment)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(school_zone(config)).date()
