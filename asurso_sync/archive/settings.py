"""The `[archive]` section beyond what `asurso_sync.config` already type-checks."""

from __future__ import annotations

from asurso_sync.config import ArchiveSettings, Config
from asurso_sync.errors import ConfigError


def archive_settings(config: Config) -> ArchiveSettings:
    """The validated `[archive]` settings (terms positive, report kinds a list of names)."""
    s = config.archive
    for key in ("journal_years", "summary_years", "full_check_days"):
        value = getattr(s, key)
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"[archive] {key} must be a whole number of at least 1")
    if not isinstance(s.full_checks_per_run, int) or s.full_checks_per_run < 0:
        raise ConfigError("[archive] full_checks_per_run must be 0 (automatic) or more")
    if s.full_check_days < 7:
        raise ConfigError("[archive] full_check_days must be at least 7 (checks run weekly)")
    reports = s.year_reports
    if isinstance(reports, str) or not all(isinstance(k, str) and k for k in reports):
        raise ConfigError("[archive] year_reports must be a list of report kinds")
    return s
