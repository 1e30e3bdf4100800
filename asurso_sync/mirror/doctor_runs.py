"""`doctor`'s results kept in the mirror: the administrator's page shows the latest.

The portal package only diagnoses; keeping the result is the mirror's job, so the portal
stays the lowest layer.
"""

from __future__ import annotations

import os
from typing import Any

from asurso_sync.mirror.db import open_mirror


def store_doctor_run(mirror_path: str | os.PathLike[str], row: dict[str, Any]) -> None:
    """Append one `doctor` run (`DoctorResult.record()`) to `doctor_runs`."""
    db = open_mirror(mirror_path)
    try:
        with db.conn:
            db.table("doctor_runs").insert(row)
    finally:
        db.close()
