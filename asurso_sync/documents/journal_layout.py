"""Page geometry of D7 computed up front, so WeasyPrint lays out lines of text, not boxes.

A year's journal is ~80 pages a class; a table cell or an inline-block per mark (and per-cell
borders) made WeasyPrint spend ~0.25 s CPU a page. Here every grid band and every topics page is
two or three absolutely placed columns of fixed-height one-line blocks (`white-space: pre`;
№, dates and marks in monospace so one line carries many columns) over one SVG background that
draws all the rules and shading, and the pagination is decided in Python: bands per page from
the group's size, topic rows per page from their wrapped line counts (text measured with
DejaVu Sans' own advance widths, so Python's line breaks are the ones printed).
"""

from __future__ import annotations

import functools
import glob
from collections.abc import Iterable
from urllib.parse import quote

from markupsafe import Markup

RULE_MM = 0.18  # 0.5pt
HEAD_FILL = "#eee"
PERIOD_FILL = "#ddd"

# Topics pages (portrait A4, 180 × 265 mm body): № | date | topic | homework.
TOPIC_PT = 8.0
TOPIC_ROW_MM = 4.2
TOPIC_PAD_MM = 1.0
TOPIC_CHAR_MM = TOPIC_PT * 1233 / 2048 * 25.4 / 72  # DejaVu Sans Mono advance
TOPIC_NO_CH, TOPIC_DATE_CH = 4, 12  # № and date share one monospace block
TOPIC_WIDTHS_MM = (
    TOPIC_NO_CH * TOPIC_CHAR_MM,
    TOPIC_DATE_CH * TOPIC_CHAR_MM,
    95.0,
    180.0 - 95.0 - (TOPIC_NO_CH + TOPIC_DATE_CH) * TOPIC_CHAR_MM,
)
TOPIC_HEAD = (
    "№".center(TOPIC_NO_CH) + "Дата".center(TOPIC_DATE_CH),
    "Что пройдено на уроке",
    "Домашнее задание",
)
TOPIC_BODY_MM = 250.0  # under the section title; the last page also holds the totals
TOPIC_LINES = int(TOPIC_BODY_MM // TOPIC_ROW_MM) - 1  # text lines per page (head row aside)
FIT_SLACK = 0.97  # measured widths ignore kerning; keep a little room
FALLBACK_EM = 0.8  # per character when the font file cannot be found


def mm(value: float) -> str:
    return f"{value:.2f}mm"


def lines_html(lines: Iterable[str]) -> Markup:
    """One fixed-height block per line (escaped unless Markup). Not one text with newlines or
    <br>: WeasyPrint re-shapes the rest of such a text, or re-walks the rest of its runs, for
    each line — quadratic in the length of the column."""
    return Markup("").join(Markup("<div>%s</div>") % line for line in lines)


def rules_svg(
    xs: list[float], ys: list[float], fills: list[tuple[float, float, float, float, str]]
) -> str:
    """A data: URL of one SVG: vertical rules at `xs`, horizontal ones at `ys` (mm), filled
    rectangles (x, y, w, h, colour) under them. One path per band instead of a box per rule."""
    width, height = xs[-1], ys[-1]
    path = "".join(f"M0 {y:.2f}H{width:.2f}" for y in ys)
    path += "".join(f"M{x:.2f} 0V{height:.2f}" for x in xs)
    rects = "".join(
        f'<rect x="{x:.2f}" y="{y:.2f}" width="{w:.2f}" height="{h:.2f}" fill="{c}"/>'
        for x, y, w, h, c in fills
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.2f}mm" height="{height:.2f}mm"'
        f' viewBox="0 0 {width:.2f} {height:.2f}">{rects}'
        f'<path d="{path}" stroke="#000" stroke-width="{RULE_MM}" fill="none"/></svg>'
    )
    return "data:image/svg+xml," + quote(svg, safe="")


@functools.lru_cache(maxsize=1)
def _advances() -> tuple[dict[int, float], float] | None:
    """DejaVu Sans advance widths in em by code point (the font the print CSS asks for)."""
    found = [
        path
        for root in ("/usr/share/fonts", "/usr/local/share/fonts", "/usr/lib/fonts")
        for path in glob.glob(f"{root}/**/DejaVuSans.ttf", recursive=True)
    ]
    if not found:
        return None
    from fontTools.ttLib import TTFont

    font = TTFont(found[0], lazy=True)
    upm = font["head"].unitsPerEm
    metrics = font["hmtx"].metrics
    widths = {cp: metrics[name][0] / upm for cp, name in font.getBestCmap().items()}
    return widths, metrics[".notdef"][0] / upm


def text_mm(text: str, pt: float) -> float:
    """Width of `text` set in DejaVu Sans at `pt` points, in mm (no kerning)."""
    table = _advances()
    if table is None:
        em = FALLBACK_EM * len(text)
    else:
        widths, missing = table
        em = sum(widths.get(ord(ch), missing) for ch in text)
    return em * pt * 25.4 / 72


def wrap(text: str, width_mm: float, pt: float = TOPIC_PT) -> list[str]:
    """`text` broken into lines no wider than `width_mm` (at spaces; long words by letters)."""
    limit = width_mm * FIT_SLACK
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        line = ""
        for word in para.split():
            candidate = f"{line} {word}" if line else word
            if text_mm(candidate, pt) <= limit:
                line = candidate
                continue
            if line:
                lines.append(line)
            while text_mm(word, pt) > limit:
                cut = _longest_prefix(word, limit, pt)
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def fit_name(name: str, width_mm: float, pt: float) -> str:
    """A pupil's full name shortened to initials only when it would not fit its column."""
    parts = name.split()
    tries = [name]
    if len(parts) >= 3:
        tries.append(" ".join(parts[:2] + [p[0] + "." for p in parts[2:]]))
    if len(parts) >= 2:
        tries.append(" ".join(parts[:1] + [p[0] + "." for p in parts[1:]]))
    for text in tries:
        if text_mm(text, pt) <= width_mm * FIT_SLACK:
            return text
    return tries[-1]  # still too long: the column clips it


def _longest_prefix(word: str, limit: float, pt: float) -> int:
    cut = 1
    while cut < len(word) and text_mm(word[: cut + 1], pt) <= limit:
        cut += 1
    return cut


def topic_pages(topics: list[dict]) -> list[dict]:
    """The group's topics split into pages: per page the column texts and the SVG ruling."""
    rows = []
    for t in topics:
        cols = [
            [str(t["n"]).center(TOPIC_NO_CH) + t["date"].center(TOPIC_DATE_CH)],
            wrap(t["topic"], TOPIC_WIDTHS_MM[2] - 2 * TOPIC_PAD_MM),
            wrap(t["homework"], TOPIC_WIDTHS_MM[3] - 2 * TOPIC_PAD_MM),
        ]
        rows.append(cols)
    pages, page, used = [], [], 0
    for cols in rows:
        height = max(len(c) for c in cols)
        if page and used + height > TOPIC_LINES:
            pages.append(page)
            page, used = [], 0
        page.append(cols)
        used += height
    pages.append(page)
    return [_topic_page(p) for p in pages]


def _topic_page(rows: list[list[list[str]]]) -> dict:
    columns: list[list[str]] = [[] for _ in TOPIC_HEAD]
    ys = [0.0, TOPIC_ROW_MM]
    for cols in rows:
        height = max(len(c) for c in cols)
        for out, lines in zip(columns, cols, strict=True):
            out.extend(lines + [""] * (height - len(lines)))
        ys.append(ys[-1] + height * TOPIC_ROW_MM)
    xs = [0.0]
    for w in TOPIC_WIDTHS_MM:
        xs.append(xs[-1] + w)
    lefts = [xs[0], xs[2], xs[3]]
    widths = [xs[2], TOPIC_WIDTHS_MM[2], TOPIC_WIDTHS_MM[3]]
    return {
        "columns": [
            {"head": head, "lines": lines_html(lines), "left": mm(x), "width": mm(w)}
            for head, lines, x, w in zip(TOPIC_HEAD, columns, lefts, widths, strict=True)
        ],
        "height": mm(ys[-1]),
        "width": mm(xs[-1]),
        "row_mm": mm(TOPIC_ROW_MM),
        "rules": rules_svg(xs, ys, [(0.0, 0.0, xs[-1], TOPIC_ROW_MM, HEAD_FILL)]),
    }
