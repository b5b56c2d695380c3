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
