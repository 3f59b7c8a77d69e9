"""Inline SVG charts for the statistics page: plain strings, no JavaScript (pure).

Each chart is one `<svg>` sized by its viewBox, so it scales from a phone to a desktop. Text,
axes and gridlines use `currentColor` (dark mode follows the page); series use the Okabe-Ito
palette and also differ by dash and marker, so colour is never the only cue. Every point and
bar carries `data-*` attributes with the same text as the page's table (`format_value`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence

from markupsafe import Markup, escape

WIDTH = 400  # viewBox units: 13px text scales to about 10px on a 320px phone
FONT = 13
CHAR_W = 7.5  # rough width of one character at FONT, for layout without font metrics
MAX_X_TICKS = 8
MAX_LABEL = 28  # longer labels are cut with an ellipsis; the full text goes in a <title>
NO_DATA = "No data for this period"
# Okabe-Ito without black (invisible in dark mode) and with yellow last (faint on white).
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2")
MARKERS = ("circle", "square", "triangle", "diamond")
_ID = re.compile(r"[A-Za-z][\w-]*\Z")


def format_value(value: float, percent: bool) -> str:
    """'1,234', '2.5' or '12.5%' (share 0.125): the chart's data-value and the table's text."""
    shown = round(value * 100 if percent else value, 9)  # 0.07 * 100 is 7.000000000000001
    text = f"{shown:,.0f}" if shown == int(shown) else f"{shown:,.1f}"
    return f"{text}%" if percent else text


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    chart_id: str,
    percent: bool = False,
    marked: Collection[int] = (),
    marked_label: str = "feeds failing",
) -> Markup:
    """One line per series over the periods in `x_labels`; NaN values leave a gap."""
    _check_id(chart_id)
    n = len(x_labels)
    for name, values in series:
        if len(values) != n:
            raise ValueError(f"series {name!r} has {len(values)} values for {n} x labels")
    if bad := [i for i in marked if not 0 <= i < n]:
        raise ValueError(f"marked indexes out of range: {bad}")
    top = max((v for _, vs in series for v in vs if not math.isnan(v)), default=0.0)
    if n == 0 or top <= 0:
        return _empty(title, chart_id)

    whole = not percent and all(v == int(v) for _, vs in series for v in vs if not math.isnan(v))
    ticks = _nice_ticks(top, whole)
    y_labels = [_axis_label(t, ticks[1], percent) for t in ticks]
    half_x = max(len(s) for s in x_labels) * CHAR_W / 2
    legend = [(_swatch_line(i), name) for i, (name, _) in enumerate(series)]
    if marked:
        legend.append((_swatch_band(), marked_label))
    legend_svg, legend_h = _legend(legend)

    left = max(max(len(s) for s in y_labels) * CHAR_W + 14, half_x + 4)
    right = WIDTH - max(12.0, half_x + 4)
    top_y, bottom_y = legend_h + 10, legend_h + 210
    height = bottom_y + 30
    plot_w = right - left

    def x_at(i: int) -> float:
        return left + plot_w / 2 if n == 1 else left + i * plot_w / (n - 1)

    def y_at(v: float) -> float:
        return bottom_y - v / ticks[-1] * (bottom_y - top_y)

    parts = [legend_svg]
    band_w = plot_w if n == 1 else plot_w / (n - 1)
    for i in sorted(set(marked)):
        x0, x1 = max(left, x_at(i) - band_w / 2), min(right, x_at(i) + band_w / 2)
        parts.append(
            f'<rect x="{x0:.1f}" y="{top_y}" width="{x1 - x0:.1f}" height="{bottom_y - top_y}"'
            f' fill="currentColor" fill-opacity="0.12"{_data(marked=x_labels[i])}/>'
        )
    grid = [
        f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{y_at(t):.1f}" y2="{y_at(t):.1f}"'
        f' stroke-opacity="{1 if t == 0 else 0.2}"/>'
        for t in ticks
    ]
    parts.append(f'<g stroke="currentColor" aria-hidden="true">{"".join(grid)}</g>')
    y_text = [
        f'<text x="{left - 6:.1f}" y="{y_at(t) + 4:.1f}">{escape(s)}</text>'
        for t, s in zip(ticks, y_labels, strict=True)
    ]
    x_text = [
        f'<text x="{x_at(i):.1f}" y="{bottom_y + 18}">{escape(x_labels[i])}</text>'
        for i in _x_tick_indexes(n, plot_w, half_x * 2 + 12)
    ]
    parts.append(
        f'<g fill="currentColor" text-anchor="end" data-axis="y">{"".join(y_text)}</g>'
        f'<g fill="currentColor" text-anchor="middle" data-axis="x">{"".join(x_text)}</g>'
    )

    for s, (name, values) in enumerate(series):
        colour, dash = _style(s)
        run: list[str] = []
        for i, v in enumerate([*values, math.nan]):  # the trailing NaN flushes the last run
            if not math.isnan(v):
                run.append(f"{x_at(i):.1f},{y_at(v):.1f}")
                continue
            if len(run) > 1:
                parts.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}"'
                    f' stroke-width="2"{_dash(dash)}/>'
                )
            run = []
        for i, v in enumerate(values):
            if not math.isnan(v):
                shown = format_value(v, percent)
                attrs = _data(series=name, x=x_labels[i], value=shown)
                tip = f"<title>{escape(name)}, {escape(x_labels[i])}: {shown}</title>"
                parts.append(
                    _marker(MARKERS[s % len(MARKERS)], x_at(i), y_at(v), colour, attrs, tip)
                )

    names = ", ".join(name for name, _ in series)
    desc = f"Line chart of {names} by period"
    if marked:
        desc += f"; shaded periods: {marked_label}"
    return _svg(
        title,
        f"{desc}. The figures are in the data table below the chart.",
        chart_id,
        height,
        parts,
    )


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    chart_id: str,
    percent: bool = False,
) -> Markup:
    """Horizontal bars in the order given, each with its label above it and value after it."""
    _check_id(chart_id)
    top = max((v for _, v in bars), default=0.0)
    if top <= 0:
        return _empty(title, chart_id)
    shown = [format_value(v, percent) for _, v in bars]
    left, row = 8, 38  # the label sits above its bar, so long outlet names get the full width
    bar_max = WIDTH - left - 8 - max(len(s) for s in shown) * CHAR_W - 6
    bottom = 8 + len(bars) * row
    parts = [
        f'<line x1="{left}" x2="{left}" y1="4" y2="{bottom}" stroke="currentColor"'
        ' aria-hidden="true"/>'
    ]
    for i, ((label, value), text) in enumerate(zip(bars, shown, strict=True)):
        y = 8 + i * row
        w = max(value, 0.0) / top * bar_max
        parts.append(
            f'<text x="{left + 4}" y="{y + 12}" fill="currentColor">{_label(label)}</text>'
            f'<rect x="{left}" y="{y + 17}" width="{w:.1f}" height="14" fill="{COLOURS[0]}"'
            f"{_data(label=label, value=text)}/>"
            f'<text x="{left + w + 6:.1f}" y="{y + 28}" fill="currentColor">{text}</text>'
        )
    desc = "Bar chart. The figures are in the data table below the chart."
    return _svg(title, desc, chart_id, bottom + 4, parts)


def _nice_ticks(top: float, whole: bool) -> tuple[float, ...]:
    """0 up to at least `top` in 3 to 5 steps of 1, 2, 2.5 or 5 x 10^n (whole: steps of 1 up)."""
    exp = math.floor(math.log10(top)) - 1
    while True:
        for m in (1, 2, 2.5, 5):
            step = m * 10.0**exp
            if whole and step != int(step):
                continue  # no "0.5 articles" ticks on a count axis
            steps = max(3, math.ceil(top / step - 1e-9))
            if steps <= 5:
                return tuple(round(i * step, 12) for i in range(steps + 1))
        exp += 1


def _x_tick_indexes(n: int, plot_w: float, label_w: float) -> list[int]:
    """The periods to label: evenly spaced, never overlapping, always the first and last."""
    if n == 1:
        return [0]
    for k in range(min(n, MAX_X_TICKS), 1, -1):
        # rounding makes some gaps (n - 1) // (k - 1) periods wide: those must fit a label
        if (n - 1) // (k - 1) * plot_w / (n - 1) >= label_w:
            break
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def _axis_label(value: float, step: float, percent: bool) -> str:
    scale = 100 if percent else 1
    decimals = 0  # as many as the step needs: 2.5% steps need one, 25% steps none
    while decimals < 4 and abs(round(step * scale, decimals) - step * scale) > 1e-9:
        decimals += 1
    text = f"{value * scale:,.{decimals}f}"
    return f"{text}%" if percent else text


def _svg(title: str, desc: str, chart_id: str, height: float, parts: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}"'
        f' width="100%" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc"'
        f' font-size="{FONT}"><title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>{"".join(parts)}</svg>'
    )


def _empty(title: str, chart_id: str) -> Markup:
    text = (
        f'<text x="{WIDTH // 2}" y="34" text-anchor="middle" fill="currentColor">{NO_DATA}</text>'
    )
    return _svg(title, f"{NO_DATA}.", chart_id, 60, [text])


def _check_id(chart_id: str) -> None:
    # The id ends up in id= and in the space-separated aria-labelledby list.
    if not _ID.match(chart_id):
        raise ValueError(f"chart_id must be a letter then letters, digits, - or _: {chart_id!r}")


def _style(index: int) -> tuple[str, str]:
    return COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]


def _dash(dash: str) -> str:
    return f' stroke-dasharray="{dash}"' if dash else ""


def _data(**values: str) -> str:
    return "".join(f' data-{key}="{escape(value)}"' for key, value in values.items())


def _label(text: str) -> str:
    if len(text) <= MAX_LABEL:
        return str(escape(text))
    return f"<title>{escape(text)}</title>{escape(text[: MAX_LABEL - 1].rstrip())}…"


def _marker(shape: str, x: float, y: float, colour: str, attrs: str, tip: str) -> str:
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}"{attrs}>{tip}</circle>'
    if shape == "square":
        return (
            f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{colour}"{attrs}>'
            f"{tip}</rect>"
        )
    corners = (
        [(0, -4.5), (4.5, 3.5), (-4.5, 3.5)]
        if shape == "triangle"
        else [(0, -4.5), (4.5, 0), (0, 4.5), (-4.5, 0)]
    )
    d = " ".join(
        f"{'M' if j == 0 else 'L'}{x + dx:.1f},{y + dy:.1f}" for j, (dx, dy) in enumerate(corners)
    )
    return f'<path d="{d} Z" fill="{colour}"{attrs}>{tip}</path>'


def _swatch_line(index: int) -> str:
    colour, dash = _style(index)
    line = f'<line x1="0" x2="24" y1="-4" y2="-4" stroke="{colour}" stroke-width="2"{_dash(dash)}/>'
    return line + _marker(MARKERS[index % len(MARKERS)], 12, -4, colour, "", "")


def _swatch_band() -> str:
    return '<rect x="4" y="-10" width="16" height="12" fill="currentColor" fill-opacity="0.12"/>'


def _legend(items: list[tuple[str, str]]) -> tuple[str, float]:
    """Legend entries flowing left to right, wrapping; returns the SVG and its height."""
    x, y, out = 4.0, 16.0, []
    for swatch, name in items:
        width = 30 + min(len(name), MAX_LABEL) * CHAR_W + 16
        if x > 4 and x + width > WIDTH:
            x, y = 4.0, y + 20
        out.append(
            f'<g transform="translate({x:.1f} {y:.1f})">{swatch}'
            f'<text x="30" fill="currentColor">{_label(name)}</text></g>'
        )
        x += width
    return "".join(out), y + 8
