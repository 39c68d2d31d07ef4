"""Small server-side SVG charts: horizontal grouped bars and lines over days, with axes, labels and a legend.

Drawn as markup with no script and no style attribute (the pages' CSP allows self-hosted stylesheets only):
colours are SVG presentation attributes. Every chart is ``role="img"`` labelled by its ``<title>`` and ``<desc>``,
and every mark (bar, point, line) carries its own ``<title>`` with the number it shows, so a screen reader and a
hovering mouse read the same values the CSV holds. Each CSV row is one mark group with ``data-row="<index>"``.
All text is escaped here: labels may come from the database (override reason displays).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), each with a 3:1 contrast or more
#: against white; yellow left out for that reason.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#B07300", "#3E8EC4", "#000000")
#: Dash patterns cycled too, so that lines stay apart where they overlap, or when colours repeat or cannot be told
#: apart.
DASHES = ("", "6 3", "2 3", "8 3 2 3")
FONT = "system-ui, sans-serif"
FONT_PX = 12
CHAR_PX = 6.6  # average advance of a 12 px sans-serif character: enough to size the label column
AXIS_COLOUR = "#444444"
MAX_LABEL_PX = 440  # the category label column of a bar chart; longer labels are cut with an ellipsis
GRID_COLOUR = "#dddddd"


@dataclass(frozen=True)
class Series:
    """One coloured series of a chart (a bar in each group, or one line)."""

    key: str
    label: str


@dataclass(frozen=True)
class BarGroup:
    """One category of a bar chart: one bar per series; ``titles`` say what each bar means, for its <title>."""

    row: int
    label: str
    values: tuple[float, ...]
    titles: tuple[str, ...]


@dataclass(frozen=True)
class Point:
    """One point of a line: the x category index, the value and its <title>."""

    row: int
    x: int
    value: float
    title: str


@dataclass(frozen=True)
class Line:
    series: Series
    points: tuple[Point, ...]


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def dash(index: int) -> str:
    return DASHES[index % len(DASHES)]


def fit(label: str, chars: int) -> str:
    """`label` cut to `chars` characters with an ellipsis (the mark's <title> keeps the whole text)."""
    return label if len(label) <= chars else label[:max(1, chars - 1)] + "\u2026"


def nice_ticks(top: float, *, integer: bool = False, count: int = 5) -> list[float]:
    """Evenly spaced round tick values from 0 to at least `top` (1-2-2.5-5 steps); integers only if asked."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def number(value: float) -> str:
    """A value as the charts print it: integers without decimals, others with up to two."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def percent(value: float) -> str:
    return f"{number(round(value, 1))}%"


def _attrs(**values: object) -> str:
    """Escaped XML attributes (trailing underscores dropped, other underscores become dashes)."""
    return "".join(f' {name.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for name, v in values.items()
                   if v is not None and v != "")


def _text(x: float, y: float, content: str, **attrs: object) -> str:
    return f"<text{_attrs(x=f'{x:.1f}', y=f'{y:.1f}', **attrs)}>{escape(content)}</text>"


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg"{_attrs(id=chart_id, data_testid=chart_id)} class="chart"'
            f' viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
            f' aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc"'
            f'{_attrs(font_family=FONT, font_size=FONT_PX)}>',
            f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
            f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>']


def _legend(series: Sequence[Series], x: float, y: float, *, lines: bool) -> list[str]:
    out = ['<g class="legend">']
    for i, s in enumerate(series):
        out.append(f'<g class="legend-item"{_attrs(data_series=s.key)}><title>{escape(s.label)}</title>')
        if lines:
            out.append(f'<line{_attrs(x1=f"{x:.1f}", y1=f"{y - 4:.1f}", x2=f"{x + 18:.1f}", y2=f"{y - 4:.1f}")}'
                       f'{_attrs(stroke=colour(i), stroke_width=2, stroke_dasharray=dash(i))}/>')
        else:
            out.append(f'<rect{_attrs(x=f"{x:.1f}", y=f"{y - 10:.1f}", width=12, height=12, fill=colour(i))}/>')
        out.append(_text(x + 22, y, s.label, fill="#222222"))
        out.append("</g>")
        y += 16
    out.append("</g>")
    return out


def _empty(chart_id: str, title: str, description: str, message: str) -> Markup:
    out = _open(chart_id, title, description, 640, 60)
    out.append(_text(10, 34, message, fill="#222222", class_="empty"))
    out.append("</svg>")
    return Markup("\n".join(out))


def bar_chart(chart_id: str, title: str, description: str, series: Sequence[Series], groups: Sequence[BarGroup], *,
              value_label: str, top: float | None = None, integer: bool = True,
              tick_format: Callable[[float], str] = number, empty: str = "No data in this period.") -> Markup:
    """Horizontal grouped bars: a group per category (y), one bar per series, a value axis (x) from 0 to `top`
    (default: the largest value, rounded up to a tick)."""
    if not groups:
        return _empty(chart_id, title, description, empty)
    longest = max(len(g.label) for g in groups)
    label_px = min(MAX_LABEL_PX, max(80, int(longest * CHAR_PX) + 12))
    label_chars = longest if label_px < MAX_LABEL_PX else int((label_px - 12) / CHAR_PX)
    plot_w, bar_h, gap = 420, 14, 12
    legend_h = 16 * len(series) + 8
    group_h = bar_h * len(series) + gap
    left, top_px = label_px, legend_h + 10
    plot_h = group_h * len(groups)
    width, height = left + plot_w + 40, top_px + plot_h + 46
    ticks = nice_ticks(max(top or 0.0, max((v for g in groups for v in g.values), default=0.0)), integer=integer)
    scale = plot_w / ticks[-1]
    out = _open(chart_id, title, description, width, height)
    out += _legend(series, left, 14, lines=False)
    out.append('<g class="axis" aria-hidden="true">')
    for tick in ticks:
        x = left + tick * scale
        out.append(f'<line{_attrs(x1=f"{x:.1f}", y1=top_px, x2=f"{x:.1f}", y2=top_px + plot_h)}'
                   f'{_attrs(stroke=GRID_COLOUR)}/>')
        out.append(_text(x, top_px + plot_h + 16, tick_format(tick), text_anchor="middle", fill=AXIS_COLOUR))
    out.append(f'<line{_attrs(x1=left, y1=top_px, x2=left, y2=top_px + plot_h, stroke=AXIS_COLOUR)}/>')
    out.append(f'<line{_attrs(x1=left, y1=top_px + plot_h, x2=left + plot_w, y2=top_px + plot_h)}'
               f'{_attrs(stroke=AXIS_COLOUR)}/>')
    out.append(_text(left + plot_w / 2, top_px + plot_h + 36, value_label, text_anchor="middle", fill="#222222"))
    out.append("</g>")
    out.append('<g class="marks">')
    for gi, group in enumerate(groups):
        y0 = top_px + gi * group_h + gap / 2
        out.append(f'<g class="mark"{_attrs(data_row=group.row, data_label=group.label)}>')
        out.append(_text(left - 6, y0 + bar_h * len(series) / 2 + 4, fit(group.label, label_chars),
                         text_anchor="end", fill="#222222"))
        for si, (value, bar_title) in enumerate(zip(group.values, group.titles)):
            w = max(0.0, value * scale)
            out.append(f'<rect{_attrs(x=left, y=f"{y0 + si * bar_h:.1f}", width=f"{w:.1f}", height=bar_h - 2)}'
                       f'{_attrs(fill=colour(si), data_series=series[si].key, data_value=number(value))}>'
                       f'<title>{escape(bar_title)}</title></rect>')
        out.append("</g>")
    out.append("</g></svg>")
    return Markup("\n".join(out))


def line_chart(chart_id: str, title: str, description: str, x_labels: Sequence[str], lines: Sequence[Line], *,
               value_label: str, x_label: str, empty: str = "No data in this period.") -> Markup:
    """Lines over evenly spaced x categories (days), a point per value with its <title>; y from 0."""
    if not lines or not x_labels:
        return _empty(chart_id, title, description, empty)
    plot_w, plot_h = 560, 220
    legend_h = 16 * len(lines) + 8
    left, top_px = 56, legend_h + 14
    width, height = left + plot_w + 48, top_px + plot_h + 56  # room for half of the last day's label
    ticks = nice_ticks(max((p.value for ln in lines for p in ln.points), default=0.0), integer=True)
    y_scale = plot_h / ticks[-1]
    step = plot_w / max(1, len(x_labels) - 1)

    def xy(point: Point) -> tuple[float, float]:
        return left + point.x * step, top_px + plot_h - point.value * y_scale

    out = _open(chart_id, title, description, width, height)
    out += _legend([ln.series for ln in lines], left, 14, lines=True)
    out.append('<g class="axis" aria-hidden="true">')
    for tick in ticks:
        y = top_px + plot_h - tick * y_scale
        out.append(f'<line{_attrs(x1=left, y1=f"{y:.1f}", x2=left + plot_w, y2=f"{y:.1f}", stroke=GRID_COLOUR)}/>')
        out.append(_text(left - 6, y + 4, number(tick), text_anchor="end", fill=AXIS_COLOUR))
    every = max(1, math.ceil(len(x_labels) / 8))  # at most ~8 day labels, so that they never overlap
    for i, label in enumerate(x_labels):
        x = left + i * step
        out.append(f'<line{_attrs(x1=f"{x:.1f}", y1=top_px + plot_h, x2=f"{x:.1f}", y2=top_px + plot_h + 4)}'
                   f'{_attrs(stroke=AXIS_COLOUR)}/>')
        last = i == len(x_labels) - 1
        if last or (i % every == 0 and len(x_labels) - 1 - i >= every):  # no label crowding the last one
            out.append(_text(x, top_px + plot_h + 18, label, text_anchor="middle", fill=AXIS_COLOUR))
    out.append(f'<line{_attrs(x1=left, y1=top_px, x2=left, y2=top_px + plot_h, stroke=AXIS_COLOUR)}/>')
    out.append(f'<line{_attrs(x1=left, y1=top_px + plot_h, x2=left + plot_w, y2=top_px + plot_h)}'
               f'{_attrs(stroke=AXIS_COLOUR)}/>')
    out.append(_text(left + plot_w / 2, top_px + plot_h + 40, x_label, text_anchor="middle", fill="#222222"))
    out.append(_text(14, top_px + plot_h / 2, value_label, text_anchor="middle", fill="#222222",
                     transform=f"rotate(-90 14 {top_px + plot_h / 2:.1f})"))
    out.append("</g>")
    for li, line in enumerate(lines):
        out.append(f'<g class="series"{_attrs(data_series=line.series.key)}>')
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(xy, line.points))
        out.append(f'<polyline{_attrs(points=coords, fill="none", stroke=colour(li), stroke_width=2)}'
                   f'{_attrs(stroke_dasharray=dash(li))}><title>{escape(line.series.label)}</title></polyline>')
        for point in line.points:
            x, y = xy(point)
            out.append(f'<circle class="mark"{_attrs(data_row=point.row, cx=f"{x:.1f}", cy=f"{y:.1f}", r=3)}'
                       f'{_attrs(fill=colour(li), data_value=number(point.value))}>'
                       f'<title>{escape(point.title)}</title></circle>')
        out.append("</g>")
    out.append("</svg>")
    return Markup("\n".join(out))
