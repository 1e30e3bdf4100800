"""The `[report]` section: where templates live, what a document may show, how PDFs are made."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from asurso_sync.errors import ConfigError
from asurso_sync.rules.settings import RuleSettings, load_rule_settings

PDF_VARIANTS = ("pdf/a-2u", "pdf/a-3u")
DEFAULT_CODES = {
    "Н": ["Н", "ОТ"],
    "О": ["О", "ОП"],
    "осв": ["ОСВ"],
    "reasons": ["УП", "НП", "Б"],
}


@dataclass(frozen=True)
class ReportSettings:
    """What the documents read from the config; the defaults are the regulation's."""

    templates_dir: str | None = None  # a school's own copies; missing files fall back to ours
    show_illness: bool = False  # False: «Б» is shown as «УП» (уважительная), 152-ФЗ
    pdf_variant: str = "pdf/a-3u"  # 3u attaches the CSV twins inside the PDF
    checked_by: str = ""  # the deputy director signing D1; default: the school card's УВР
    timezone: str = "Europe/Samara"  # from [sync] timezone
    codes: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_CODES))
    register_rows: tuple[dict[str, Any], ...] | None = None  # D10 rows (from the archive)
    register_head: str = ""  # D10: the archive register's chain head
    rules: RuleSettings = field(default_factory=RuleSettings)  # [rules]: Z-1's fix_days


def parse_report_settings(
    table: dict[str, Any],
    *,
    timezone: str = "Europe/Samara",
    codes: dict | None = None,
    rules: RuleSettings | None = None,
) -> ReportSettings:
    """Validate the raw `[report]` table; unknown keys and wrong types are ConfigErrors."""
    known = {"templates_dir", "show_illness", "pdf_variant", "checked_by"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"[report] has unknown key(s): {', '.join(unknown)}")
    show = table.get("show_illness", False)
    if not isinstance(show, bool):
        raise ConfigError("[report] show_illness must be true or false")
    variant = str(table.get("pdf_variant", "pdf/a-3u")).lower()
    if variant not in PDF_VARIANTS:
        raise ConfigError(f"[report] pdf_variant must be one of {', '.join(PDF_VARIANTS)}")
    tdir = table.get("templates_dir")
    if tdir is not None and not isinstance(tdir, str):
        raise ConfigError("[report] templates_dir must be a path")
    merged = dict(DEFAULT_CODES)
    for key, value in (codes or {}).items():
        if isinstance(value, list) and key in merged:
            merged[key] = [str(v) for v in value]
    return ReportSettings(
        templates_dir=tdir,
        show_illness=show,
        pdf_variant=variant,
        checked_by=str(table.get("checked_by", "")),
        timezone=timezone,
        codes=merged,
        rules=rules or RuleSettings(tz=timezone),
    )


def load_report_settings(config: Any) -> ReportSettings:
    """ReportSettings from a loaded `Config` (templates_dir resolved against the config's folder)."""
    table = dict(config.section("report"))
    if table.get("templates_dir"):
        table["templates_dir"] = str(config.resolve(table["templates_dir"]))
    rules = config.section("rules")
    codes = rules.get("codes") if isinstance(rules.get("codes"), dict) else None
    return parse_report_settings(
        table, timezone=config.sync.timezone, codes=codes, rules=load_rule_settings(config)
    )
