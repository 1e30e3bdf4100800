"""The regulation's rules R01–R23 over the mirror, and the violations' lifecycle.

Public API:
    load_rule_settings(config) / parse_rule_settings(table)  -> RuleSettings
    evaluate(db, settings, as_of=None, rule_ids=None)        -> CheckResult (reads only)
    check(db, settings, as_of=None, rule_ids=None)           -> CheckResult (records)
    RULES, RULES_BY_ID                                       the declared Rule objects
    summary.status_section(db)                               for `asurso-sync status`
"""

from asurso_sync.rules.base import Finding, Rule
from asurso_sync.rules.engine import (
    RULES,
    RULES_BY_ID,
    CheckResult,
    check,
    default_as_of,
    evaluate,
)
from asurso_sync.rules.settings import RuleSettings, load_rule_settings, parse_rule_settings

__all__ = [
    "RULES",
    "RULES_BY_ID",
    "CheckResult",
    "Finding",
    "Rule",
    "RuleSettings",
    "check",
    "default_as_of",
    "evaluate",
    "load_rule_settings",
    "parse_rule_settings",
]
