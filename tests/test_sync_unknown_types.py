"""Assignment types and absence codes the portal's lists do not name (the real portal's typeIds 40 and 68): the
sync keeps them and says what the school can do about it, naming the `[rules]` keys."""

from __future__ import annotations

import logging

from asurso_sync.demo import sync_simulator
from asurso_sync.mirror.db import open_mirror


def test_unnamed_assignment_types_are_kept_and_the_warning_names_the_rules_keys(
    small_school, tmp_path, caplog
):
    caplog.set_level(logging.WARNING, logger="asurso_sync.sync.apply")
    sync_simulator(tmp_path / "asurso.db", small_school)
    warnings = [r.getMessage() for r in caplog.records if r.name == "asurso_sync.sync.apply"]
    assert warnings == [
        "kept 2 assignment type id(s) the portal's list does not name (40, 68): marks on them "
        "are checked only by R08; once the portal names them, list each name in "
        "[rules] oral_types, written_types or kr_types",
        "kept 1 absence code(s) the portal's list does not name (ОП): map each in "
        "[rules.codes] (Н, О, осв or reasons), else R11 warns about it",
    ]
    db = open_mirror(tmp_path / "asurso.db")
    rows = list(db.query("SELECT id, name, known FROM assignment_types WHERE known = 0"))
    db.close()
    assert rows == [{"id": 40, "name": None, "known": 0}, {"id": 68, "name": None, "known": 0}]
