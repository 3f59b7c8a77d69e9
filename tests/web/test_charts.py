"""The SVG charts as plain output: well-formed XML, data attributes that match the input (and
so the page's table), escaping, nice axes, marked periods and the empty case."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from briefing.web.charts import bar_chart, format_value, line_chart

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"
DAYS = ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    root = ET.fromstring(str(svg))  # raises if the output is not well-formed XML
    assert root.tag == f"{NS}svg"
    return root


def with_attr(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in e.attrib]


def axis_labels(root: ET.Element, axis: str) -> list[str]:
    group = next(e for e in root.iter(f"{NS}g") if e.get("data-axis") == axis)
    return [t.text or "" for t in group.iter(f"{NS}text")]


def test_every_point_carries_its_series_period_and_value() -> None:
    series = [("Fetched", [120.0, 98.0, 1234.0, 0.0]), ("Relevant", [12.0, 7.5, 30.0, 2.0])]
    root = parse(line_chart("Items", DAYS, series, chart_id="items"))

    points = [
        (e.get("data-series"), e.get("data-x"), e.get("data-value"))
        for e in with_attr(root, "data-series")
    ]

    assert points == [
        (name, day, format_value(v, False))
        for name, values in series
        for day, v in zip(DAYS, values, strict=True)
    ]
    assert ("Fetched", "2026-03-04", "1,234") in points
    assert ("Relevant", "2026-03-03", "7.5") in points


def test_series_differ_by_colour_dash_and_marker() -> None:
    series = [(f"s{i}", [1.0, 2.0, 3.0, 4.0]) for i in range(3)]
    root = parse(line_chart("Items", DAYS, series, chart_id="items"))

    lines = list(root.iter(f"{NS}polyline"))
    assert len({line.get("stroke") for line in lines}) == 3
    assert len({line.get("stroke-dasharray") for line in lines}) == 3
    shapes = {
        s: {e.tag for e in with_attr(root, "data-series") if e.get("data-series") == s}
        for s in ("s0", "s1", "s2")
    }
    assert len({frozenset(tags) for tags in shapes.values()}) == 3
    legend_text = [t.text for t in root.iter(f"{NS}text")]
    assert {"s0", "s1", "s2"} <= set(legend_text)


def test_bars_carry_label_and_value_in_the_order_given() -> None:
    bars = [("BBC News", 1234.0), ("Guardian", 0.0), ("Free Movement", 12.5)]
    root = parse(bar_chart("By outlet", bars, chart_id="outlets"))

    drawn = [(e.get("data-label"), e.get("data-value")) for e in with_attr(root, "data-label")]

    assert drawn == [("BBC News", "1,234"), ("Guardian", "0"), ("Free Movement", "12.5")]
    widths = [float(e.get("width", "")) for e in with_attr(root, "data-label")]
    assert widths[0] > widths[2] > widths[1] == 0


def test_long_bar_labels_are_cut_and_keep_the_full_text_in_a_title() -> None:
    name = "The Daily Telegraph and Sunday Telegraph Online"
    root = parse(bar_chart("By outlet", [(name, 3.0)], chart_id="outlets"))

    text = next(t for t in root.iter(f"{NS}text") if t.find(f"{NS}title") is not None)
    shown = text.find(f"{NS}title").tail or ""  # type: ignore[union-attr]
    assert shown.endswith("…") and len(shown) <= 28 and name.startswith(shown[:-1])
    assert text.find(f"{NS}title").text == name  # type: ignore[union-attr]
    assert with_attr(root, "data-label")[0].get("data-label") == name


def test_hostile_names_and_titles_are_escaped() -> None:
    line = line_chart(
        HOSTILE,
        [HOSTILE, "b"],
        [(HOSTILE, [1.0, 2.0])],
        chart_id="c1",
        marked=[0],
        marked_label=HOSTILE,
    )
    bars = bar_chart(HOSTILE, [(HOSTILE, 1.0)], chart_id="c2")

    for svg in (line, bars):
        assert "<script" not in str(svg)
        root = parse(svg)
        assert not [e for e in root.iter() if e.tag.endswith("script")]
        assert root.find(f"{NS}title").text == HOSTILE  # type: ignore[union-attr]
    root = parse(line)
    point = with_attr(root, "data-series")[0]
    assert (point.get("data-series"), point.get("data-x")) == (HOSTILE, HOSTILE)
    assert with_attr(root, "data-marked")[0].get("data-marked") == HOSTILE
    assert with_attr(parse(bars), "data-label")[0].get("data-label") == HOSTILE


def test_the_svg_is_labelled_by_its_own_title_and_desc() -> None:
    svg = line_chart("Items per day", DAYS, [("Fetched", [1.0, 2.0, 3.0, 4.0])], chart_id="items")
    root = parse(svg)

    assert root.get("role") == "img" and root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 ")
    title, desc = root.find(f"{NS}title"), root.find(f"{NS}desc")
    assert title is not None and desc is not None
    assert (
        root.get("aria-labelledby")
        == f"{title.get('id')} {desc.get('id')}"
        == "items-title items-desc"
    )
    assert "table below" in (desc.text or "")
    grid = [g for g in root.iter(f"{NS}g") if g and all(e.tag == f"{NS}line" for e in g)]
    assert grid and all(g.get("aria-hidden") == "true" for g in grid)
    assert not with_attr(root, "style") and "href" not in str(svg) and "<style" not in str(svg)


@pytest.mark.parametrize("top", [0.3, 1.0, 4.0, 7.0, 9.5, 13.0, 99.0, 101.0, 1234.0, 987_654.0])
def test_y_ticks_start_at_zero_are_nice_and_cover_the_max(top: float) -> None:
    root = parse(line_chart("Items", ["a", "b"], [("s", [top / 3, top])], chart_id="c"))

    ticks = [float(s.replace(",", "")) for s in axis_labels(root, "y")]

    assert ticks[0] == 0 and ticks[-1] >= top
    assert 4 <= len(ticks) <= 6
    step = ticks[1]
    assert all(math.isclose(b - a, step) for a, b in itertools.pairwise(ticks))
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5))
    assert ticks[-1] - step < top  # no spare interval above the data


def test_percent_charts_label_axis_and_values_as_percentages() -> None:
    root = parse(
        line_chart(
            "Share", DAYS, [("Relevant", [0.1, 0.125, 0.5, 0.9])], chart_id="share", percent=True
        )
    )

    assert axis_labels(root, "y") == ["0%", "20%", "40%", "60%", "80%", "100%"]
    assert [e.get("data-value") for e in with_attr(root, "data-series")] == [
        "10%",
        "12.5%",
        "50%",
        "90%",
    ]
    bars = parse(bar_chart("Share", [("BBC", 0.07)], chart_id="b", percent=True))
    assert with_attr(bars, "data-label")[0].get("data-value") == "7%"


def test_small_shares_get_decimal_tick_labels() -> None:
    root = parse(
        line_chart("Share", ["a", "b"], [("s", [0.01, 0.011])], chart_id="c", percent=True)
    )

    assert axis_labels(root, "y") == ["0.00%", "0.25%", "0.50%", "0.75%", "1.00%", "1.25%"]


def test_marked_periods_are_shaded_bands_with_a_legend_entry() -> None:
    root = parse(
        line_chart("Items", DAYS, [("Fetched", [1.0, 2.0, 3.0, 4.0])], chart_id="c", marked={3, 1})
    )

    assert [e.get("data-marked") for e in with_attr(root, "data-marked")] == [DAYS[1], DAYS[3]]
    assert "feeds failing" in [t.text for t in root.iter(f"{NS}text")]
    assert "feeds failing" in (root.find(f"{NS}desc").text or "")  # type: ignore[union-attr]


def test_no_marked_periods_means_no_bands_and_no_legend_entry() -> None:
    root = parse(line_chart("Items", DAYS, [("Fetched", [1.0, 2.0, 3.0, 4.0])], chart_id="c"))

    assert not with_attr(root, "data-marked")
    assert "feeds failing" not in str(
        line_chart("Items", DAYS, [("Fetched", [1.0] * 4)], chart_id="c")
    )


@pytest.mark.parametrize(
    "svg",
    [
        pytest.param(lambda: line_chart("t", [], [("s", [])], chart_id="c"), id="no-x-labels"),
        pytest.param(lambda: line_chart("t", DAYS, [], chart_id="c"), id="no-series"),
        pytest.param(
            lambda: line_chart("t", DAYS, [("s", [0.0] * 4)], chart_id="c"), id="all-zero"
        ),
        pytest.param(lambda: bar_chart("t", [], chart_id="c"), id="no-bars"),
        pytest.param(
            lambda: bar_chart("t", [("a", 0.0)], chart_id="c", percent=True), id="zero-bars"
        ),
    ],
)
def test_empty_input_renders_a_small_svg_saying_so(svg: object) -> None:
    assert callable(svg)
    root = parse(svg())

    assert [t.text for t in root.iter(f"{NS}text")] == ["No data for this period"]
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c-title c-desc"
    assert not with_attr(root, "data-series") and not with_attr(root, "data-label")


@pytest.mark.parametrize(
    "labels",
    [
        [f"W{i}" for i in range(1, 61)],
        [f"2026-{m:02d}-{d:02d}" for m in (1, 2, 3) for d in range(1, 29)],
        [
            f"{m} 2026"
            for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct")
        ],
    ],
)
def test_x_labels_are_thinned_keeping_the_first_and_last(labels: list[str]) -> None:
    root = parse(line_chart("Items", labels, [("s", [1.0] * len(labels))], chart_id="c"))

    shown = axis_labels(root, "x")
    assert 2 <= len(shown) <= 8
    assert shown[0] == labels[0] and shown[-1] == labels[-1]
    assert shown == sorted(shown, key=labels.index)
    group = next(e for e in root.iter(f"{NS}g") if e.get("data-axis") == "x")
    xs = [float(t.get("x", "")) for t in group.iter(f"{NS}text")]
    widest = max(len(s) for s in labels) * 6.5  # a generous average glyph width at 13px
    assert all(b - a >= widest for a, b in itertools.pairwise(xs))  # no overlaps


def test_a_few_x_labels_are_all_shown() -> None:
    root = parse(line_chart("Items", DAYS, [("s", [1.0] * 4)], chart_id="c"))

    assert axis_labels(root, "x") == DAYS


def test_a_single_period_draws_points_without_lines() -> None:
    root = parse(
        line_chart("Items", ["2026-03-02"], [("a", [4.0]), ("b", [2.0])], chart_id="c", marked=[0])
    )

    assert not list(root.iter(f"{NS}polyline"))
    assert [e.get("data-value") for e in with_attr(root, "data-series")] == ["4", "2"]
    assert axis_labels(root, "x") == ["2026-03-02"]


def test_nan_values_leave_a_gap_in_the_line() -> None:
    values = [1.0, 2.0, math.nan, 3.0, 4.0]
    root = parse(line_chart("Items", list("abcde"), [("s", values)], chart_id="c"))

    assert len(list(root.iter(f"{NS}polyline"))) == 2
    assert [e.get("data-x") for e in with_attr(root, "data-series")] == ["a", "b", "d", "e"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: line_chart("t", DAYS, [("s", [1.0])], chart_id="c"), "1 values for 4"),
        (
            lambda: line_chart("t", DAYS, [("s", [1.0] * 4)], chart_id="c", marked=[4]),
            "out of range",
        ),
        (lambda: line_chart("t", DAYS, [("s", [1.0] * 4)], chart_id="two words"), "chart_id"),
        (lambda: bar_chart("t", [("a", 1.0)], chart_id='x"y'), "chart_id"),
    ],
)
def test_caller_mistakes_are_errors_not_wrong_charts(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("value", "percent", "expected"),
    [
        (0, False, "0"),
        (12, False, "12"),
        (1234, False, "1,234"),
        (1234567.0, False, "1,234,567"),
        (2.5, False, "2.5"),
        (1234.56, False, "1,234.6"),
        (0.125, True, "12.5%"),
        (0.12, True, "12%"),
        (0.07, True, "7%"),  # 0.07 * 100 is 7.000000000000001 in floating point
        (0.0, True, "0%"),
        (1.0, True, "100%"),
        (0.33333, True, "33.3%"),
    ],
)
def test_format_value(value: float, percent: bool, expected: str) -> None:
    assert format_value(value, percent) == expected
