"""Histograms as inline SVG: one small chart per score, bars for all pairs and for survivors, and the
thresholds drawn as lines. Pure string building (no plotting library, no gradio), so a threshold move
redraws in well under a millisecond."""

from __future__ import annotations

import html
from typing import Any

WIDTH, HEIGHT = 300, 130
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 8, 8, 22, 20
ALL_COLOR, KEPT_COLOR, CUT_COLOR = "#d1d5db", "#4f46e5", "#dc2626"

#: Titles shown above each histogram.
TITLES = {
    "nli_forward": "NLI source ⇒ target",
    "nli_backward": "NLI target ⇒ source",
    "rouge_l": "ROUGE-L (lower = more rewording)",
    "length_ratio": "Length ratio target / source",
    "numbers_ok": "Numbers kept (1 = all present)",
    "embed_cosine": "Embedding cosine",
    "learned": "Learned critic p(accept)",
    "ted": "Tree edit distance (higher = more restructured)",
}


def _x(value: float, low: float, high: float) -> float:
    inner = WIDTH - PAD_LEFT - PAD_RIGHT
    clipped = min(max(value, low), high)
    return PAD_LEFT + (clipped - low) / (high - low) * inner


def histogram_svg(column: str, hist: dict[str, Any]) -> str:
    """One chart: grey bars = every pair of the task, coloured bars = survivors, red lines = thresholds."""
    edges, all_counts, kept = hist["edges"], hist["all"], hist["survivors"]
    low, high = edges[0], edges[-1]
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    peak = max(all_counts) if all_counts and max(all_counts) > 0 else 1
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="histogram of {html.escape(column)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{PAD_LEFT}" y="14" font-size="12" font-weight="600" fill="#111827">'
        f"{html.escape(TITLES.get(column, column))}</text>",
    ]
    for index, (n_all, n_kept) in enumerate(zip(all_counts, kept, strict=True)):
        x0, x1 = _x(edges[index], low, high), _x(edges[index + 1], low, high)
        for count, color in ((n_all, ALL_COLOR), (n_kept, KEPT_COLOR)):
            if count <= 0:
                continue
            h = max(1.0, count / peak * inner_h)
            parts.append(
                f'<rect x="{x0 + 0.5:.1f}" y="{PAD_TOP + inner_h - h:.1f}" width="{max(x1 - x0 - 1, 0.5):.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{edges[index]:g}–{edges[index + 1]:g}: '
                f"{n_kept:,} kept of {n_all:,}</title></rect>"
            )
    base = PAD_TOP + inner_h
    parts.append(f'<line x1="{PAD_LEFT}" y1="{base}" x2="{WIDTH - PAD_RIGHT}" y2="{base}" stroke="#9ca3af"/>')
    for bound in ("min", "max"):
        value = hist.get(bound)
        if value is None:
            continue
        x = _x(value, low, high)
        parts.append(
            f'<line x1="{x:.1f}" y1="{PAD_TOP - 4}" x2="{x:.1f}" y2="{base}" stroke="{CUT_COLOR}" '
            f'stroke-width="2" stroke-dasharray="4 2"/>'
            f'<text x="{x:.1f}" y="{base + 14}" font-size="10" fill="{CUT_COLOR}" text-anchor="middle">'
            f"{'≥' if bound == 'min' else '≤'}{value:g}</text>"
        )
    parts.append(
        f'<text x="{PAD_LEFT}" y="{base + 14}" font-size="10" fill="#6b7280">{low:g}</text>'
        f'<text x="{WIDTH - PAD_RIGHT}" y="{base + 14}" font-size="10" fill="#6b7280" text-anchor="end">'
        f"{high:g}{'+' if column in ('length_ratio', 'ted') else ''}</text>"
    )
    missing = hist.get("missing_all", 0)
    if missing:
        parts.append(
            f'<text x="{WIDTH - PAD_RIGHT}" y="14" font-size="10" fill="#6b7280" text-anchor="end">'
            f"{missing:,} not scored</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def histograms_html(histograms: dict[str, dict[str, Any]], columns: list[str] | None = None) -> str:
    """Every histogram in a responsive grid, with a legend; a score no pair has is left out."""
    cells = []
    for column in columns or list(histograms):
        hist = histograms[column]
        if sum(hist["all"]) == 0:
            continue
        cells.append(f'<div class="id-hist">{histogram_svg(column, hist)}</div>')
    if not cells:
        return '<p class="id-hint">No scored pairs yet: run a scoring job on the Generate page.</p>'
    legend = (
        f'<p class="id-hint"><span style="color:{ALL_COLOR}">■</span> all pairs of the task · '
        f'<span style="color:{KEPT_COLOR}">■</span> survivors · '
        f'<span style="color:{CUT_COLOR}">┆</span> threshold</p>'
    )
    grid = "".join(cells)
    return (
        '<div style="display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px">'
        f"{grid}</div>{legend}"
    )


CURVE_COLORS = ("#4f46e5", "#dc2626", "#059669", "#d97706", "#0891b2", "#7c3aed", "#db2777", "#4b5563")
CURVE_SIZE, CURVE_PAD = 240, 30


def curve_svg(title: str, series: dict[str, list[tuple[float, float]]], x_label: str, y_label: str) -> str:
    """Line charts on the unit square (ROC, precision-recall), one coloured line per critic, with a legend."""
    inner = CURVE_SIZE - 2 * CURVE_PAD

    def at(x: float, y: float) -> str:
        return f"{CURVE_PAD + x * inner:.1f},{CURVE_PAD + (1 - y) * inner:.1f}"

    parts = [
        f'<svg viewBox="0 0 {CURVE_SIZE + 130} {CURVE_SIZE}" width="100%" role="img" '
        f'aria-label="{html.escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{CURVE_PAD}" y="16" font-size="12" font-weight="600" fill="#111827">{html.escape(title)}</text>',
        f'<rect x="{CURVE_PAD}" y="{CURVE_PAD}" width="{inner}" height="{inner}" fill="none" stroke="#9ca3af"/>',
        f'<text x="{CURVE_PAD + inner / 2}" y="{CURVE_SIZE - 6}" font-size="10" fill="#6b7280" '
        f'text-anchor="middle">{html.escape(x_label)}</text>',
        f'<text x="10" y="{CURVE_PAD + inner / 2}" font-size="10" fill="#6b7280" text-anchor="middle" '
        f'transform="rotate(-90 10 {CURVE_PAD + inner / 2})">{html.escape(y_label)}</text>',
    ]
    for index, (name, points) in enumerate(series.items()):
        color = CURVE_COLORS[index % len(CURVE_COLORS)]
        path = " ".join(at(x, y) for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        y = CURVE_PAD + 6 + index * 14
        parts.append(
            f'<line x1="{CURVE_SIZE + 4}" y1="{y}" x2="{CURVE_SIZE + 18}" y2="{y}" stroke="{color}" '
            f'stroke-width="2"/><text x="{CURVE_SIZE + 22}" y="{y + 4}" font-size="10" fill="#111827">'
            f"{html.escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def agreement_curves_html(curves: dict[str, dict[str, list[tuple[float, float]]]]) -> str:
    """The ROC and precision-recall curves of every critic, side by side."""
    if not curves:
        return '<p class="id-hint">No critic has scored labelled pairs of both kinds yet.</p>'
    roc = curve_svg(
        "ROC", {c: p["roc"] for c, p in curves.items()}, "false positive rate", "true positive rate"
    )
    pr = curve_svg("Precision-recall", {c: p["pr"] for c, p in curves.items()}, "recall", "precision")
    return (
        '<div style="display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:10px">'
        f"<div>{roc}</div><div>{pr}</div></div>"
    )
