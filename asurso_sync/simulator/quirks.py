"""Real-portal variants the simulator can serve (CONTRACT §7, `real/README.md`).

Each quirk switches one answer from the contract's §1–§6 shape to a shape a real NetSchool
server sends. The default (no quirks) is the contract's shape; `all` switches on every quirk.
"""

from __future__ import annotations

from collections.abc import Iterable

QUIRKS: dict[str, str] = {
    "roles_empty": "login answers accountInfo.userRoles: [] (asurso.ru 2022); the role is in "
    "context/mysettings",
    "roles_object": "login answers userRoles as one object {userId, schoolId, role: {id, name}} "
    "(swagger 5.10)",
    "roles_nested": "login answers userRoles as a list of {userId, schoolId, role: {id, name}}",
    "journal_no_termid": "journal totals items carry no termId",
    "journal_sparse": "journal marks/attendance keys absent when empty; totals: null when there "
    "are no period marks",
    "no_teachers_expand": "subjectgroups has no teachers expand and serves terms as {id, name}; "
    "teachers come from subjectgroups/terms",
    "plan_zero": 'a subject group without КТП answers {"subjectPlanId": 0, "variantsExists": '
    "false} (no lessons key)",
    "diary_class0": "diary/init names no class: classId 0, className null",
    "empty_cookie": "login sets a second, empty 'ESRNSec=;' cookie after the real one",
    "long_login": "login refuses the short form: only the asurso.ru long form (LoginType=1, cid, "
    "sid, pid, cn, sft, scid, UN, PW, lt, pw2, ver; Referer …/about.html) passes",
    "access_2013": "the journal access report in the vendor's 2007–2013 layout (PCLID_IUP, one "
    "table per class: Предмет · Дата последнего изменения оценок · Пользователь)",
    "access_2018": "the journal access report in the 2018 layout (RPTID=3, one 7-column table "
    "among two table.table-print tables)",
    "esia_only_staff": "password login refused for staff roles (409, esiaMainAuth: true); "
    "parents and pupils keep passwords",
    "esia_only": "password login off for everyone (logindata schoolLogin: false, 409)",
    "year_switch": "a staff account's calls without yearId answer for the next (empty) year",
}


# At most one of each family; `all` takes the first of each and leaves out the logins a staff
# sync cannot pass (ESIA), so that a full sync under `all` is possible.
EXCLUSIVE = (
    ("roles_empty", "roles_object", "roles_nested"),
    ("access_2013", "access_2018"),
    ("esia_only_staff", "esia_only"),
)
NOT_IN_ALL = {"roles_object", "roles_nested", "access_2018", "esia_only_staff", "esia_only"}


def parse_quirks(spec: str | Iterable[str] | None) -> frozenset[str]:
    """`"roles_empty,plan_zero"`, `"all"`, a list of names, or empty/None (no quirks).

    `all` is every quirk but the alternatives of `NOT_IN_ALL`; a name given beside `all`
    replaces the member of its family (`all,access_2018`) or adds itself (`all,esia_only`).
    """
    if spec is None:
        return frozenset()
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    chosen = {n.strip() for n in names if n.strip()}
    unknown = sorted(chosen - set(QUIRKS) - {"all"})
    if unknown:
        raise ValueError(f"unknown quirk {', '.join(unknown)}; known: {', '.join(QUIRKS)}, all")
    for family in EXCLUSIVE:
        both = sorted(chosen & set(family))
        if len(both) > 1:
            raise ValueError(f"quirks {' and '.join(both)} exclude each other")
    if "all" in chosen:
        chosen.discard("all")
        taken = {q for family in EXCLUSIVE if chosen & set(family) for q in family}
        chosen |= set(QUIRKS) - NOT_IN_ALL - taken
    return frozenset(chosen)
