"""The rules over a fully synced mirror agree exactly with the simulator's own evaluator.

Precision and recall 1.0 per rule: the set of (rule, key fields) `check` finds after a full sync
equals `ground_truth(school, as_of)`; a failure prints the differences per rule.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from conftest import SCHOOL_AS_OF, SMALL_AS_OF, copy_mirror

from asurso_sync.mirror.db import open_mirror
from asurso_sync.rules import RULES_BY_ID, check, evaluate, parse_rule_settings

CHECKABLE = [f"R{n:02d}" for n in range(1, 22)]


def truth_keys(school, as_of: dt.date) -> set[tuple]:
    from asurso_sync.simulator import ground_truth

    truth = ground_truth(school, as_of)
    assert truth["not_checkable"] == ["R22", "R23"]
    return {
        (item["rule"], *(item[k] for k in RULES_BY_ID[item["rule"]].key_fields))
        for item in truth["violations"]
    }


def found_keys(findings) -> set[tuple]:
    return {(f.rule, *f.key) for f in findings}


def differences(truth: set[tuple], found: set[tuple]) -> str:
    lines = []
    for rule in CHECKABLE:
        missed = sorted(k for k in truth - found if k[0] == rule)
        extra = sorted(k for k in found - truth if k[0] == rule)
        if missed or extra:
            lines.append(
                f"{rule}: missed {len(missed)} {missed[:5]}; extra {len(extra)} {extra[:5]}"
            )
    return "\n".join(lines)


def _compare(path, school, as_of: dt.date) -> None:
    db = open_mirror(path)
    try:
        result = evaluate(db, parse_rule_settings({}), as_of)
    finally:
        db.close()
    truth = truth_keys(school, as_of)
    found = found_keys(result.findings)
    assert found == truth, "\n" + differences(truth, found)
    # every checkable rule is exercised by the simulated school
    per_rule = Counter(k[0] for k in truth)
    assert [r for r in CHECKABLE if not per_rule[r]] == []


def test_small_matches_ground_truth(small_mirror, small_school):
    _compare(small_mirror, small_school, SMALL_AS_OF)


@pytest.mark.slow
def test_school_matches_ground_truth(school_mirror, school_school):
    _compare(school_mirror, school_school, SCHOOL_AS_OF)


def test_two_syncs_with_the_clock_moved(small_school, tmp_path, small_mirror):
    """A week later: fixed / new / open follow the real journal, and still match the truth."""
    from asurso_sync.demo import sync_simulator

    path = copy_mirror(small_mirror, tmp_path)
    settings = parse_rule_settings({})
    db = open_mirror(path)
    first = check(db, settings)  # as of the sync's own date
    db.close()
    assert first.as_of == SMALL_AS_OF
    later = SMALL_AS_OF + dt.timedelta(days=7)
    sync_simulator(path, small_school, later, full=True)
    db = open_mirror(path)
    second = check(db, settings)
    assert second.as_of == later
    before, after = found_keys(first.findings), found_keys(second.findings)
    truth = truth_keys(small_school, later)
    assert after == truth, "\n" + differences(truth, after)
    statuses = {(f.rule, *f.key): f.status for f in second.findings}
    assert {k for k, s in statuses.items() if s == "open"} == before & after
    assert {k for k, s in statuses.items() if s == "new"} == after - before
    fixed = {(r["rule"], *_key(r)) for r in second.fixed}
    assert fixed == before - after
    # the week changes something both ways (new breaches appear, some get fixed)
    assert after - before and before - after
    rows = Counter(row["status"] for row in db.query("SELECT status FROM violations"))
    db.close()
    assert rows == Counter(
        {"open": len(before & after), "new": len(after - before), "fixed": len(before - after)}
    )


def _key(row: dict) -> tuple:
    import json

    return tuple(json.loads(row["key"]))
