"""The ``critic`` job: train a learned critic on human labels and save it to a folder.

Parameters: ``out`` (folder, required); ``from`` (a labelled file; default: the labels in this database)
and its ``format`` (jsonl | mrpc | sick); ``task`` (default paraphrase); ``embedder`` (default
``embedded``); ``seed`` (0); ``device`` (auto).

Features are every cheap score (computed here when a pair lacks it), the NLI scores when most training
pairs have them, and the embedder's vectors of both sentences (see ``models.learned_critic``). The job
has one step: a killed or cancelled job simply trains again when resumed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from db.schema import labels, pairs
from db.types import TASKS
from pipeline.critics import lexical
from pipeline.critics.learned import pair_vectors, score_matrix
from pipeline.runner import JobContext, UserError

NLI_COLUMNS = ("nli_forward", "nli_backward")
NLI_COVERAGE = 0.5  # use an NLI column as a feature when at least this share of training pairs has it
KNOWN = {"out", "from", "format", "task", "embedder", "seed", "device"}


def check_params(params: dict[str, Any]) -> None:
    """Raise ``UserError`` naming the first bad parameter."""
    unknown = set(params) - KNOWN
    if unknown:
        raise UserError(f"Unknown critic parameter(s): {', '.join(sorted(unknown))}.")
    if not params.get("out"):
        raise UserError("A critic needs an output folder (--out DIR).")
    if params.get("task", "paraphrase") not in TASKS:
        raise UserError(f"Unknown task {params.get('task')!r}; use one of {', '.join(TASKS)}.")
    if params.get("from") and not Path(params["from"]).is_file():
        raise UserError(f"No such labelled file: {params['from']}.")


def database_rows(engine: Engine, task: str) -> list[dict[str, Any]]:
    """Every labelled pair of ``task``: text, stored scores and its label."""
    columns = [
        pairs.c.source,
        pairs.c.target,
        pairs.c.task,
        *[pairs.c[c] for c in (*lexical.CHEAP_COLUMNS, *NLI_COLUMNS)],
    ]
    query = (
        select(*columns, labels.c.decision.label("label"))
        .join(labels, labels.c.pair_id == pairs.c.id)
        .where(pairs.c.task == task)
        .order_by(pairs.c.id)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def file_rows(path: str, fmt: str, task: str) -> list[dict[str, Any]]:
    from curation.importing import read_labelled

    rows = []
    for record in read_labelled(path, fmt, task):
        if record["task"] == task:
            rows.append({**record, **(record.get("scores") or {})})
    return rows


def with_cheap_scores(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill the cheap scores a row lacks; rows a critic cannot score (an empty sentence) are dropped."""
    out = []
    for row in rows:
        missing = tuple(c for c in lexical.CHEAP_COLUMNS if row.get(c) is None)
        try:
            out.append({**row, **lexical.cheap_scores(row["source"], row["target"], row["task"], missing)})
        except lexical.CriticError:
            continue
    return out


def feature_columns(rows: list[dict[str, Any]]) -> list[str]:
    covered = [c for c in NLI_COLUMNS if sum(r.get(c) is not None for r in rows) >= NLI_COVERAGE * len(rows)]
    return [*lexical.CHEAP_COLUMNS, *covered]


def train(params: dict[str, Any], engine: Engine, log=print) -> dict[str, Any]:
    """Train and save a critic; return its metadata (also written into its folder)."""
    from models.critics import load_embedder
    from models.learned_critic import check_label_counts, fit_critic, training_hash
    from models.loading import ModelLoadError

    check_params(params)
    task, source = params.get("task", "paraphrase"), params.get("from")
    raw = file_rows(source, params.get("format", "jsonl"), task) if source else database_rows(engine, task)
    rows = with_cheap_scores(raw)
    y = np.array([1 if r["label"] == "accept" else 0 for r in rows], dtype=np.int64)
    check_label_counts(int(y.sum()), int(len(y) - y.sum()))
    columns = feature_columns(rows)
    try:
        embedder = load_embedder(params.get("embedder") or "embedded", params.get("device") or "auto")
    except ModelLoadError as exc:
        raise UserError(str(exc)) from exc
    started = time.monotonic()
    sources, targets = [r["source"] for r in rows], [r["target"] for r in rows]
    u, v = pair_vectors(embedder, sources, targets)
    log(f"embedded {len(rows)} labelled pairs in {time.monotonic() - started:.1f}s; fitting")
    critic = fit_critic(
        score_matrix(rows, columns),
        sources,
        targets,
        u,
        v,
        y,
        score_columns=columns,
        task=task,
        embedder=params.get("embedder") or "embedded",
        seed=int(params.get("seed", 0)),
        meta={
            "training_hash": training_hash(sources, targets, y),
            "trained_on": source or "database labels",
            "pairs": len(rows),
            "skipped": len(raw) - len(rows),
        },
    )
    critic.meta["train_seconds"] = round(time.monotonic() - started, 2)
    critic.save(params["out"])
    return critic.meta


def run(ctx: JobContext) -> None:
    """Job handler for kind ``critic``."""
    ctx.set_progress(0, 1)
    ctx.check_cancelled()
    from curation.importing import ImportFileError
    from models.learned_critic import NotEnoughLabels

    try:
        meta = train(ctx.params, ctx.engine, log=ctx.log)
    except (NotEnoughLabels, ImportFileError) as exc:
        raise UserError(str(exc)) from exc
    ctx.log(
        f"saved {meta['model']} to {ctx.params['out']}: cross-validated AUC {meta['cv_auc']:.3f} on "
        f"{meta['accepted']} accept / {meta['rejected']} reject labels"
    )
    ctx.set_progress(1, 1)
