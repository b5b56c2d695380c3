"""A dataset quality report for a saved version: the paper's Table 1 columns we can compute, stored with
the version so it is computed once.

Tokens are lowercased whitespace-separated words with surrounding punctuation stripped. Definitions:

- ``pairs``; ``source_len`` / ``target_len``: mean words per source / target.
- ``cossim``: 100 x mean stored ``embed_cosine`` of the pairs that have one (the embedder that scored them;
  no model runs here); ``cossim_pairs`` says how many had it.
- ``h2`` / ``h3``: entropy in bits of the distribution of word 2-grams / 3-grams over every sentence of
  the version (sources and targets); higher = more varied phrasing.
- ``msttr``: 100 x mean type-token ratio over consecutive 50-word segments of all targets (the last
  partial segment is left out); higher = richer vocabulary.
- ``jaccard``: 100 x mean over pairs of |words(x) and words(y)| / |words(x) or words(y)|; lower = more
  rewording.
- ``self_bleu``: mean sacrebleu sentence BLEU of each of up to 200 sampled targets against the other
  sampled targets; lower = targets less alike.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Engine, delete, insert, select

from curation.versions import get_version
from db.jobs import now
from db.schema import pairs, version_pairs, version_reports

SEGMENT = 50
SELF_BLEU_SAMPLE = 200
COLUMNS = ("pairs", "source_len", "target_len", "cossim", "h2", "h3", "msttr", "jaccard", "self_bleu")
#: The paper's DIMPLE dataset (method.md, Table 1); None = not reported.
DIMPLE = {
    "pairs": 4_200_000,
    "source_len": None,
    "target_len": None,
    "cossim": 87.68,
    "h2": 17.75,
    "h3": 22.46,
    "msttr": 53.08,
    "jaccard": 43.62,
    "self_bleu": None,
}
_EDGE = re.compile(r"^\W+|\W+$")


def words(text: str) -> list[str]:
    """Lowercased words with surrounding punctuation stripped (empty tokens dropped)."""
    out = [_EDGE.sub("", token) for token in text.lower().split()]
    return [w for w in out if w]


def ngram_entropy(texts: Sequence[list[str]], n: int) -> float:
    """Entropy (bits) of the n-gram distribution over ``texts`` (each a word list)."""
    counts = Counter(tuple(t[i : i + n]) for t in texts for i in range(len(t) - n + 1))
    total = sum(counts.values())
    if not total:
        return float("nan")
    p = np.array(list(counts.values()), dtype=np.float64) / total
    return float(-(p * np.log2(p)).sum())


def msttr(texts: Sequence[list[str]], segment: int = SEGMENT) -> float:
    """100 x mean type-token ratio of consecutive ``segment``-word windows of the concatenated texts."""
    tokens = [w for t in texts for w in t]
    ratios = [
        len(set(tokens[i : i + segment])) / segment for i in range(0, len(tokens) - segment + 1, segment)
    ]
    return 100 * float(np.mean(ratios)) if ratios else float("nan")


def jaccard(source: list[str], target: list[str]) -> float:
    union = set(source) | set(target)
    return len(set(source) & set(target)) / len(union) if union else 0.0


def self_bleu(targets: Sequence[str], sample: int = SELF_BLEU_SAMPLE, seed: int = 0) -> float:
    """Mean BLEU of each sampled target against the other sampled targets as references."""
    import sacrebleu

    if len(targets) < 2:
        return float("nan")
    rng = np.random.default_rng(seed)
    picked = [targets[i] for i in sorted(rng.choice(len(targets), min(sample, len(targets)), replace=False))]
    scores = [
        sacrebleu.sentence_bleu(text, picked[:i] + picked[i + 1 :]).score for i, text in enumerate(picked)
    ]
    return float(np.mean(scores))


def dataset_report(sources: Sequence[str], targets: Sequence[str], cosines: Sequence[float | None]) -> dict:
    """Every report column for these pairs (see the module docstring)."""
    src, tgt = [words(s) for s in sources], [words(t) for t in targets]
    known = [c for c in cosines if c is not None]
    nan = float("nan")
    return {
        "pairs": len(sources),
        "source_len": float(np.mean([len(s) for s in src])) if src else nan,
        "target_len": float(np.mean([len(t) for t in tgt])) if tgt else nan,
        "cossim": 100 * float(np.mean(known)) if known else nan,
        "cossim_pairs": len(known),
        "h2": ngram_entropy(src + tgt, 2),
        "h3": ngram_entropy(src + tgt, 3),
        "msttr": msttr(tgt),
        "jaccard": 100 * float(np.mean([jaccard(s, t) for s, t in zip(src, tgt, strict=True)]))
        if src
        else nan,
        "self_bleu": self_bleu(list(targets)),
    }


def _clean(report: dict[str, Any]) -> dict[str, Any]:
    """NaN as None, so the report is valid JSON."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in report.items()}


def version_report(engine: Engine, version: str | int, refresh: bool = False) -> dict[str, Any]:
    """The stored report of a version, computed and stored the first time (or again with ``refresh``)."""
    row = get_version(engine, version)
    with engine.connect() as conn:
        stored = conn.execute(
            select(version_reports.c.report).where(version_reports.c.version_id == row["id"])
        ).scalar()
    if stored is not None and not refresh:
        return json.loads(stored) if isinstance(stored, str) else stored
    query = (
        select(pairs.c.source, pairs.c.target, pairs.c.embed_cosine)
        .join(version_pairs, version_pairs.c.pair_id == pairs.c.id)
        .where(version_pairs.c.version_id == row["id"])
        .order_by(pairs.c.id)
    )
    with engine.connect() as conn:
        data = conn.execute(query).all()
    report = _clean(
        {
            "version": row["name"],
            **dataset_report([d[0] for d in data], [d[1] for d in data], [d[2] for d in data]),
        }
    )
    with engine.begin() as conn:
        conn.execute(delete(version_reports).where(version_reports.c.version_id == row["id"]))
        conn.execute(insert(version_reports).values(version_id=row["id"], report=report, created_at=now()))
    return report


def _cell(value: Any, column: str) -> str:
    if value is None:
        return "—"
    return f"{value:,}" if column == "pairs" else f"{value:.2f}"


def report_rows(reports: Sequence[dict[str, Any]]) -> list[list[str]]:
    """One row per report plus the paper's DIMPLE row: name, then every column."""
    rows = [[r["version"], *[_cell(r.get(c), c) for c in COLUMNS]] for r in reports]
    rows.append(["DIMPLE (paper)", *[_cell(DIMPLE[c], c) for c in COLUMNS]])
    return rows


def report_table(reports: Sequence[dict[str, Any]]) -> str:
    """A fixed-width text table of ``report_rows`` under a header."""
    header = ["version", *COLUMNS]
    rows = [header, *report_rows(reports)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )
