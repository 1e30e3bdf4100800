"""Page geometry of D7 computed up front, so WeasyPrint lays out lines of text, not boxes.

A year's journal is ~80 pages a class; a table cell or an inline-block per mark (and per-cell
borders) made WeasyPrint spend ~0.25 s CPU a page, and its cost is now mostly per block laid
out. Here every grid band and every topics page is one absolutely placed column of small
`white-space: pre` blocks of a few lines each (one text a printed line, not a box per column):
grid lines are monospace (№, name, marks); topics lines are DejaVu Sans with the columns set by
tab stops. One SVG background draws all the rules and shading, and the pagination is decided
in Python: bands per page from the group's size, topic rows per page from their wrapped line
counts (text measured with DejaVu Sans' own advance widths, so Python's line breaks are the
ones printed).
"""

from __future__ import annotations

import functools
import glob
from collections.abc import Iterable
from urllib.parse import quote

from markupsafe import Markup, escape

RULE_MM = 0.18  # 0.5pt
HEAD_FILL = "#eee"
PERIOD_FILL = "#ddd"

# Topics pages (portrait A4, 180 × 265 mm body): № and date | topic | homework. Each printed line
# is ONE block: the three columns are one text joined by tabs, the tab stops every TOPIC_TAB_PX
# CSS px (`tab-size`), so the column rules sit at 1 and 4 tab widths.
TOPIC_PT = 8.0
TOPIC_ROW_MM = 4.2
TOPIC_PAD_MM = 1.0
TOPIC_TAB_PX = 113  # whole CSS px: Pango takes the tab stop in pixels
TOPIC_TAB_MM = TOPIC_TAB_PX * 25.4 / 96
TOPIC_WIDTHS_MM = (TOPIC_TAB_MM, 3 * TOPIC_TAB_MM, 180.0 - 4 * TOPIC_TAB_MM)
FIGURE_SPACE = "\u2007"  # as wide as a digit in DejaVu Sans: № right-aligned, dates in line
TOPIC_HEAD = ("№" + FIGURE_SPACE * 3 + "Дата", "Что пройдено на уроке", "Домашнее задание")
TOPIC_PAD_TO = 3.5  # tab widths: where the padded topic ends (see tabbed)
TOPIC_BODY_MM = 250.0  # under the section title; the last page also holds the totals
TOPIC_LINES = int(TOPIC_BODY_MM // TOPIC_ROW_MM) - 1  # text lines per page (head row aside)
FIT_SLACK = 0.97  # measured widths ignore kerning; keep a little room
FALLBACK_EM = 0.8  # per character when the font file cannot be found
LINES_PER_BLOCK = 6  # printed lines a block (see lines_html)


def mm(value: float) -> str:
    return f"{value:.2f}mm"


def lines_html(lines: Iterable[str]) -> Markup:
    """The lines (escaped unless Markup) as blocks of LINES_PER_BLOCK lines joined by newlines
    (`white-space: pre`, the line height fixed by the column's `line-height`). Not one block
    for the whole column: WeasyPrint re-shapes the rest of a text, or re-walks the rest of its
    runs, for each line — quadratic in the length of the block; nor one block a line: the cost
    per block (styles, boxes, layout) then dominates. 6 lines measured cheapest (4–8 alike)."""
    lines = list(lines)
    return Markup("").join(
        Markup("<div>%s</div>") % Markup("\n").join(map(escape, lines[i : i + LINES_PER_BLOCK]))
        for i in range(0, len(lines), LINES_PER_BLOCK)
    )


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


def _longest_prefix(word: str, limit: float, pt: float) -> int:
    cut = 1
    while cut < len(word) and text_mm(word[: cut + 1], pt) <= limit:
        cut += 1
    return cut


def topic_pages(topics: list[dict]) -> list[dict]:
    """The group's topics split into pages: per page the lines of text and the SVG ruling."""
    rows = []
    for t in topics:
        number = f"{t['n']:>3}".replace(" ", FIGURE_SPACE)
        rows.append(
            [
                [number + FIGURE_SPACE * 2 + t["date"]],
                wrap(t["topic"], TOPIC_WIDTHS_MM[1] - 2 * TOPIC_PAD_MM),
                wrap(t["homework"], TOPIC_WIDTHS_MM[2] - 2 * TOPIC_PAD_MM),
            ]
        )
    pages: list[list] = []
    page: list = []
    used = 0
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
    lines: list[str] = []
    ys = [0.0, TOPIC_ROW_MM]
    for cols in rows:
        height = max(len(c) for c in cols)
        padded = [c + [""] * (height - len(c)) for c in cols]
        lines.extend(tabbed(*parts) for parts in zip(*padded, strict=True))
        ys.append(ys[-1] + height * TOPIC_ROW_MM)
    xs = [0.0]
    for w in TOPIC_WIDTHS_MM:
        xs.append(xs[-1] + w)
    return {
        "head": tabbed(*TOPIC_HEAD),
        "lines": lines_html(lines),
        "height": mm(ys[-1]),
        "width": mm(xs[-1]),
        "row_mm": mm(TOPIC_ROW_MM),
        "tab": f"{TOPIC_TAB_PX}px",
        "rules": rules_svg(xs, ys, [(0.0, 0.0, xs[-1], TOPIC_ROW_MM, HEAD_FILL)]),
    }


def tabbed(first: str, topic: str, homework: str) -> str:
    """One topics line as one text. Tab stops repeat every tab width, and WeasyPrint draws a
    text a little narrower than Pango measured it (so a tab after a longer topic lands further
    left): the topic is padded with spaces to about 3.5 tab widths, then one tab takes the
    homework to the stop at 4 tab widths, the same offset on every line."""
    if not homework:
        return f"{first}\t{topic}".rstrip()
    room = (TOPIC_PAD_TO - 1) * TOPIC_TAB_MM - text_mm(topic, TOPIC_PT)
    spaces = max(0, round(room / text_mm(" ", TOPIC_PT)))
    return f"{first}\t{topic}{' ' * spaces}\t{homework}"
