"""The Russian wording, clause and deadline source of each rule, as D1 prints them.

Titles, clauses and where each deadline comes from (the regulation's clause, or the school's
setting in `[rules]`) are the rules package's own declarations (`asurso_sync.rules.RULES`).
"""

from __future__ import annotations

from asurso_sync.rules import RULES, RULES_BY_ID, deadline_label


def rule_texts() -> dict[str, tuple[str, str]]:
    """rule id -> (title, clause) of every declared rule."""
    return {r.id: (r.title, r.clause) for r in RULES}


def rule_order() -> dict[str, int]:
    """rule id -> its place in the regulation's order (R01 first)."""
    return {rule_id: n for n, rule_id in enumerate(sorted(RULES_BY_ID))}


def deadline_source(rule_id: str, source: str | None = None) -> str:
    """Where a remark's deadline comes from, as D1 prints it: the regulation's clause, or
    «по настройке школы ([rules] key)», or «» for a rule without a deadline; `source` is the
    finding's own (`regulation` / `setting`: a school that changed the regulation's value)
    when recorded, else the rule's."""
    rule = RULES_BY_ID.get(rule_id)
    if rule is None or (source or rule.deadline_source) == "none":
        return ""
    return deadline_label(rule, source or None)
