"""Text and HTML the Curate, Review and Versions pages show, built from plain curation data. No gradio."""

from __future__ import annotations

import html
from typing import Any

from curation.recipe import Recipe
from curation.stats import diff_html, word_diff
from db.schema import SCORE_COLUMNS

SHORT = {
    "nli_forward": "nli→",
    "nli_backward": "nli←",
    "rouge_l": "rougeL",
    "length_ratio": "len",
    "numbers_ok": "num",
    "embed_cosine": "cos",
    "learned": "learned",
    "ted": "ted",
}
CRITIC_COLUMNS = ["critic", "threshold", "removes (alone)", "only it removes", "loosen to", "would add"]


def headline(summary: dict[str, Any], semantic_note: str) -> str:
    """The live survivor count and what shaped it, as markdown."""
    total, kept = summary["total"], summary["survivors"]
    share = f" ({100 * kept / total:.1f}%)" if total else ""
    parts = [
        f"### {kept:,} of {total:,} {summary['task']} pairs survive{share}",
        f"pass every threshold: {summary['passing_critics']:,} · dedup removes {summary['dedup_removed']:,} · "
        f"{human_effect(summary)} · recipe `{summary['recipe_hash']}`",
        f"Semantic critic: {semantic_note}",
    ]
    return "\n\n".join(parts)


def human_effect(summary: dict[str, Any]) -> str:
    """What the human labels of the task do to the survivors, e.g. ``human labels: 4 rejected (1 of them
    kept by the critics, now removed)``."""
    accepted, rejected = summary["accepted"], summary["rejected"]
    if not accepted and not rejected:
        return "no human labels yet"
    parts = []
    if accepted:
        parts.append(
            f"{accepted:,} accepted ({summary['human_added']:,} of them added back against the critics)"
        )
    if rejected:
        parts.append(
            f"{rejected:,} rejected ({summary['human_removed']:,} of them kept by the critics, now removed)"
        )
    return "human labels: " + ", ".join(parts)


def critic_name(critic: dict[str, Any], both_bounds: set[str]) -> str:
    """The critic's column, with ``(min)`` / ``(max)`` when the recipe bounds that column on both sides."""
    column = critic["column"]
    return f"{column} ({critic['bound']})" if column in both_bounds else column


def critic_rows(summary: dict[str, Any]) -> list[list[Any]]:
    """One row per active threshold: what it removes on its own, what only it removes, what a step
    looser would add to the survivors."""
    columns = [c["column"] for c in summary["critics"]]
    both_bounds = {column for column in columns if columns.count(column) > 1}
    rows = []
    for c in summary["critics"]:
        sign = "≥" if c["bound"] == "min" else "≤"
        rows.append(
            [
                critic_name(c, both_bounds),
                f"{sign} {c['threshold']:g}",
                c["removes_alone"],
                c["removes_only"],
                f"{sign} {c['loosen_to']:g}",
                f"+{c['loosen_adds']:,}",
            ]
        )
    return rows


def format_score(column: str, value: float) -> str:
    """A score as shown: two decimals, a tree edit distance as the whole number it is."""
    return f"{value:.0f}" if column == "ted" else f"{value:.2f}"


def _score_cells(scores: dict[str, Any]) -> str:
    cells = []
    for column in SCORE_COLUMNS:
        value = scores.get(column)
        shown = "–" if value is None else format_score(column, value)
        cells.append(f'<span title="{column}">{SHORT[column]} {shown}</span>')
    return "<br>".join(cells)


def template_html(row: dict[str, Any]) -> str:
    """The pair's syntax template (top three levels of each parse), collapsed under a ``<details>``;
    empty when the row carries no template information."""
    if "target_template" not in row:
        return ""
    if row.get("parse_error"):
        body = f"parser rejected {html.escape(row['parse_error'])}"
    elif row["target_template"] is None:
        body = "not parsed yet (a score job with a parser fills it)"
    else:
        body = (
            f"source: <code>{html.escape(row['source_template'] or '–')}</code><br>"
            f"target: <code>{html.escape(row['target_template'])}</code>"
        )
    return f'<details class="id-template"><summary>template</summary><small>{body}</small></details>'


def pairs_table_html(rows: list[dict[str, Any]], which: str) -> str:
    """A page of pairs: id, source, target, word diff, scores, and why each was rejected (or its label)."""
    if not rows:
        return f'<p class="id-hint">No {which} pairs on this page.</p>'
    body = []
    for row in rows:
        reasons = ", ".join(row["reasons"]) or "—"
        label = f"<br><b>{html.escape(row['label'])}ed</b>" if row.get("label") else ""
        note = f"<br><i>{html.escape(row['note'])}</i>" if row.get("note") else ""
        body.append(
            "<tr>"
            f"<td>{row['id']}</td>"
            f"<td>{html.escape(row['source'])}</td>"
            f"<td>{html.escape(row['target'])}{template_html(row)}</td>"
            f'<td class="id-diff">{row["diff_html"]}</td>'
            f'<td style="white-space:nowrap;font-family:monospace;font-size:0.8rem">{_score_cells(row["scores"])}</td>'
            f"<td>{html.escape(reasons)}{label}{note}</td>"
            "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>" for h in ("id", "source", "target", "word diff", "scores", "reasons / label")
    )
    return f'<table class="id-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def pair_card_html(row: dict[str, Any] | None, recipe: Recipe, position: str = "") -> str:
    """One pair for review: source, target, the word diff, its scores and what the critics say."""
    if row is None:
        return '<p class="id-hint">The queue is empty: no unlabelled pairs match. Change the queue or the thresholds.</p>'
    scores = {column: row.get(column) for column in SCORE_COLUMNS}
    reasons = recipe.reasons(scores)
    verdict = "critics keep it" if not reasons else "critics reject it: " + ", ".join(reasons)
    ops = word_diff(row["source"], row["target"])
    score_text = " · ".join(
        f"{SHORT[c]} {format_score(c, scores[c])}" if scores[c] is not None else f"{SHORT[c]} –"
        for c in SCORE_COLUMNS
    )
    return (
        f'<div class="id-pair"><p class="id-hint">pair {row["id"]} · {html.escape(row.get("queue") or "")} queue'
        f"{' · ' + position if position else ''} · {html.escape(verdict)}</p>"
        f"<p><b>Source</b><br>{html.escape(row['source'])}</p>"
        f"<p><b>Target</b><br>{html.escape(row['target'])}</p>{template_html(row)}"
        f'<p class="id-diff"><b>Diff</b><br>{diff_html(ops)}</p>'
        f'<p class="id-hint" style="font-family:monospace">{score_text}</p></div>'
    )


def precision_text(estimate: dict[str, Any]) -> str:
    """The precision estimate with its 95% interval, or what to do to get one."""
    n = estimate["n"]
    if not n:
        return (
            "**Estimated precision:** no random-queue labels on current survivors yet. Review a few pairs "
            "from the *random* queue to estimate how many kept pairs are good."
        )
    return (
        f"**Estimated precision: {100 * estimate['precision']:.0f}%** "
        f"(95% CI {100 * estimate['low']:.0f}–{100 * estimate['high']:.0f}%) "
        f"from {estimate['accepted']} accepted of {n} random-queue labels on current survivors."
    )
