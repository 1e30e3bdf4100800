"""Log lines: WeasyPrint's per-font notice appears once per run at most, and not under -q."""

from __future__ import annotations

import logging

import pytest

from asurso_sync.log import configure_logging

NOTICE = (
    'Using fontTools instead of HarfBuzz-Subset for font "%s". This will be slower and may '
    "produce larger files. Install HarfBuzz-Subset >= 4.1.0 with your package manager."
)


@pytest.mark.parametrize(("quiet", "expected"), [(False, 1), (True, 0)])
def test_the_font_subsetting_notice_appears_once_and_not_under_q(capsys, quiet, expected):
    configure_logging(0, quiet)
    weasy = logging.getLogger("weasyprint")
    for family in ("DejaVu Sans", "DejaVu Sans Mono", "DejaVu Sans"):
        weasy.warning(NOTICE, family)
    weasy.warning("Unable to subset %r with HarfBuzz", "DejaVu Sans")  # other warnings stay
    lines = capsys.readouterr().err.splitlines()
    assert sum("Using fontTools instead of HarfBuzz-Subset" in ln for ln in lines) == expected
    assert sum("Unable to subset 'DejaVu Sans' with HarfBuzz" in ln for ln in lines) == 1
    configure_logging(0, False)
