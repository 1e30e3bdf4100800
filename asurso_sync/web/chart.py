"""A small line chart drawn on the server as SVG (no JavaScript, prints as it looks)."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 22, 12, 28


def line_chart(points: list[tuple[str, int]], title: str) -> Markup:
    """`points`: (label, value) in order; the y axis starts at 0."""
    if not points:
        return Markup("<p class='muted'>Нет данных для графика.</p>")
    top = max(v for _, v in points) or 1
    step = _nice_step(top)
    top = ((top + step - 1) // step) * step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    dx = plot_w / max(len(points) - 1, 1)

    def x(i: int) -> float:
        return LEFT + i * dx

    def y(v: int) -> float:
        return TOP + plot_h * (1 - v / top)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for v in range(0, top + 1, step):
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>'
        )
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    parts.append(f'<polyline points="{line}" class="line"/>')
    for i, (label, v) in enumerate(points):
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" class="dot">'
            f"<title>{escape(label)}: {v}</title></circle>"
            f'<text x="{x(i):.1f}" y="{HEIGHT - 8}" text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice_step(top: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if top / step <= 5:
            return step
    return 10000
