"""The regulation's rules R01–R25 over the mirror, and the violations' lifecycle.

Public API:
    load_rule_settings(config) / parse_rule_settings(table)  -> RuleSettings
    evaluate(db, settings, as_of=None, rule_ids=None)        -> CheckResult (reads only)
    check(db, settings, as_of=None, rule_ids=None)           -> CheckResult (records)
    RULES, RULES_BY_ID                                       the declared Rule objects: id,
        title, clause, addressee, deadline_source, deadline_setting, deadline_default
    deadline_label(rule, source=None), ADDRESSEES            D1's «Срок» and «Кому» wording
    escalation.fix_by / overdue_remarks / overdue_per_teacher  Z-1 (remarks past fix-by)
    summary.status_section(db)                               for `asurso-sync status`
"""

from asurso_sync.rules.base import ADDRESSEES, DEADLINE_SOURCES, Finding, Rule, deadline_label
from asurso_sync.rules.engine import (
    RULES,
    RULES_BY_ID,
    CheckResult,
    default_as_of,
    evaluate,
)
from asurso_sync.rules.lifecycle import check
from asurso_sync.rules.settings import RuleSettings, load_rule_settings, parse_rule_settings

__all__ = [
    "ADDRESSEES",
    "DEADLINE_SOURCES",
    "RULES",
    "RULES_BY_ID",
    "CheckResult",
    "Finding",
    "Rule",
    "RuleSettings",
    "check",
    "deadline_label",
    "default_as_of",
    "evaluate",
    "load_rule_settings",
    "parse_rule_settings",
]
