"""The Russian wording, clause and deadline source of each rule, as D1 prints them.

Titles and clauses come from the rules package (`asurso_sync.rules.RULES`). Where a deadline
comes from: the regulation's own words (its clause), or the school's setting in `[rules]`
(«по настройке школы») when the text gives no number of days. Until the rules declare their
deadline source themselves, the table below says it, read against the Положение.
"""

from __future__ import annotations

from asurso_sync.rules import RULES, RULES_BY_ID

# rule id -> ("regulation", the clause that states the deadline)
#          | ("setting", the `[rules]` key that sets it) | ("none", "") for rules without one
DEADLINE_SOURCES: dict[str, tuple[str, str]] = {
    "R01": ("setting", "topic_days"),
    "R02": ("setting", "hw_days"),
    "R03": ("setting", "topic_days"),
    "R04": ("setting", "att_days"),
    "R05": ("regulation", "Регламент, учитель п. 5"),
    "R06": ("regulation", "Регламент, учитель п. 5"),
    "R07": ("regulation", "Регламент, учитель п. 3"),
    "R08": ("regulation", "п. 7.4"),
    "R09": ("none", ""),
    "R10": ("none", ""),
    "R11": ("none", ""),
    "R12": ("setting", "reason_days"),
    "R13": ("regulation", "Регламент, учитель п. 10"),
    "R14": ("setting", "order_deadline"),
    "R15": ("regulation", "п. 7.4; Регламент, учитель п. 1"),
    "R16": ("none", ""),
    "R17": ("none", ""),
    "R18": ("none", ""),
    "R19": ("none", ""),
    "R20": ("setting", "first_week_days"),
    "R21": ("regulation", "Регламент, классный руководитель п. 1"),
    "R22": ("regulation", "п. 7.2"),
    "R23": ("regulation", "п. 7.2"),
}
# The text calls the period marks «итоговые оценки» (§1 keeps «отметка» for absences).
WORDING = (("Итоговая отметка", "Итоговая оценка"), ("итоговая отметка", "итоговая оценка"))


def _worded(text: str) -> str:
    for old, new in WORDING:
        text = text.replace(old, new)
    return text


def rule_texts() -> dict[str, tuple[str, str]]:
    """rule id -> (title, clause) of every declared rule, in the text's own words."""
    return {r.id: (_worded(r.title), r.clause) for r in RULES}


def rule_order() -> dict[str, int]:
    """rule id -> its place in the regulation's order (R01 first)."""
    return {rule_id: n for n, rule_id in enumerate(sorted(RULES_BY_ID))}


def deadline_source(rule_id: str) -> str:
    """Where the rule's deadline comes from, as D1 prints it: «по регламенту (учитель п. 5)»,
    «по настройке школы ([rules] topic_days)», or «» for a rule without a deadline."""
    kind, where = DEADLINE_SOURCES.get(rule_id, ("none", ""))
    if kind == "regulation":
        return f"по регламенту ({where})"
    if kind == "setting":
        return f"по настройке школы ([rules] {where})"
    return ""
