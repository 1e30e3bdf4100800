"""Bag names, ASCII file names and retention arithmetic (reference/domain.md §3.2).

File names inside a bag are ASCII so no filesystem's Unicode normalisation can make a sealed
bag look incomplete; class names are transliterated (5а → 5a).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from asurso_sync.errors import ArchiveError

KINDS = ("journal", "summary")
RETENTION_CLASS = {"journal": "journal-5y", "summary": "summary-25y"}

_TRANSLIT = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "e",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "i",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "iu",
    "я": "ia",
}
_BAG_RE = re.compile(
    r"^ej-(?P<school>\d+)-(?P<y1>\d{4})-(?P<y2>\d{4})-(?P<kind>journal|summary)"
    r"-v(?P<version>[1-9]\d*)$"
)


def transliterate(text: str) -> str:
    """An ASCII file-name part for a (Cyrillic) class name: 5а → 5a, 10Б → 10B."""
    out = []
    for ch in text.strip():
        low = ch.lower()
        if low in _TRANSLIT:
            lat = _TRANSLIT[low]
            out.append(lat.capitalize() if ch != low else lat)
        elif ch.isascii() and (ch.isalnum() or ch in "._-"):
            out.append(ch)
        else:
            out.append("-")
    name = re.sub(r"-{2,}", "-", "".join(out)).strip("-.")
    return name or "class"


@dataclass(frozen=True)
class SchoolYear:
    """A school year such as 2025/2026."""

    start: int

    @property
    def end(self) -> int:
        return self.start + 1

    @property
    def label(self) -> str:
        return f"{self.start}/{self.end}"

    @property
    def slug(self) -> str:
        return f"{self.start}-{self.end}"


def parse_year(text: str) -> SchoolYear:
    """`2025/2026` (also `2025-2026`) → SchoolYear; anything else is an ArchiveError."""
    m = re.fullmatch(r"\s*(\d{4})\s*[/-]\s*(\d{4})\s*", text or "")
    if not m or int(m.group(2)) != int(m.group(1)) + 1:
        raise ArchiveError(f"school year must look like 2025/2026, not {text!r}")
    return SchoolYear(int(m.group(1)))


def retain_until(
    year: SchoolYear, kind: str, *, journal_years: int = 5, summary_years: int = 25
) -> date:
    """First day the bag may be listed for destruction.

    The term runs from 1 January after the file closed (the year closes in `year.end`), so
    2023/2024 → journal 2030-01-01, summary 2050-01-01.
    """
    years = journal_years if kind == "journal" else summary_years
    return date(year.end + 1 + years, 1, 1)


def bag_name(school_id: int, year: SchoolYear, kind: str, version: int) -> str:
    """`ej-<schoolid>-<YYYY>-<YYYY+1>-<kind>-v<N>`."""
    if kind not in KINDS:
        raise ValueError(f"unknown bag kind {kind!r}")
    return f"ej-{school_id}-{year.slug}-{kind}-v{version}"


@dataclass(frozen=True)
class BagName:
    school_id: int
    year: SchoolYear
    kind: str
    version: int

    @property
    def name(self) -> str:
        return bag_name(self.school_id, self.year, self.kind, self.version)


def parse_bag_name(name: str) -> BagName | None:
    """The parts of a bag name, or None when `name` is not one of ours."""
    m = _BAG_RE.match(name)
    if not m or int(m.group("y2")) != int(m.group("y1")) + 1:
        return None
    return BagName(
        int(m.group("school")),
        SchoolYear(int(m.group("y1"))),
        m.group("kind"),
        int(m.group("version")),
    )
