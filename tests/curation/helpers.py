"""Build scored pairs for curation tests: insert with ``insert_pairs``, then set scores directly."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine, bindparam, update

from curation import frame
from db.queries import insert_pairs
from db.schema import SCORE_COLUMNS, pairs
from db.types import Pair

GOOD = {
    "length_ratio": 1.0,
    "rouge_l": 0.4,
    "numbers_ok": 1.0,
    "embed_cosine": 0.9,
    "nli_forward": 0.9,
    "nli_backward": 0.9,
}


def add_pairs(engine: Engine, n: int, task: str = "paraphrase", prefix: str = "s") -> list[int]:
    """Insert ``n`` unscored pairs; return their ids in insertion order."""
    with engine.begin() as conn:
        before = conn.execute(
            pairs.select().with_only_columns(pairs.c.id).order_by(pairs.c.id.desc())
        ).first()
        insert_pairs(
            conn,
            [Pair(f"{prefix} source {i} was here.", f"{prefix} target {i} is here.", task) for i in range(n)],
        )
        start = before[0] if before else 0
        ids = [
            r[0] for r in conn.execute(pairs.select().with_only_columns(pairs.c.id).where(pairs.c.id > start))
        ]
    return sorted(ids)


def set_scores(engine: Engine, pair_id: int, dedup_group: int | None = None, **scores: float | None) -> None:
    """Overwrite score columns of one pair (as a score job would) and drop cached frames."""
    values = {k: v for k, v in scores.items() if k in SCORE_COLUMNS}
    assert len(values) == len(scores), f"unknown score in {scores}"
    with engine.begin() as conn:
        conn.execute(update(pairs).where(pairs.c.id == pair_id).values(dedup_group=dedup_group, **values))
    frame.invalidate(engine)


def add_scored(engine: Engine, dedup_group: int | None = None, task: str = "paraphrase", **scores) -> int:
    """One pair with GOOD scores overridden by ``scores``."""
    (pair_id,) = add_pairs(engine, 1, task, prefix=f"p{np.random.randint(1 << 30)}")
    set_scores(engine, pair_id, dedup_group, **{**GOOD, **scores})
    return pair_id


def random_scores(engine: Engine, n: int, seed: int, tasks=("paraphrase", "summary")) -> list[int]:
    """``n`` pairs with random scores (some NULL), ties, dedup groups and both tasks."""
    rng = np.random.default_rng(seed)
    ids = []
    for task in tasks:
        ids += add_pairs(engine, n // len(tasks), task, prefix=f"r{seed}{task}")
    rows = []
    for pair_id in ids:
        row = {"b_id": pair_id}
        for column in SCORE_COLUMNS:
            if column == "length_ratio":
                value = (
                    float(rng.choice([0.5, 0.8, 1.0, 1.5, 2.0]))
                    if rng.random() < 0.3
                    else rng.uniform(0.3, 2.5)
                )
            elif column == "numbers_ok":
                value = float(rng.random() < 0.8)
            else:  # coarse values make ties and exact-threshold hits common
                value = float(rng.choice([0.7, 0.75, 0.8, 0.9])) if rng.random() < 0.4 else rng.random()
            row[column] = None if rng.random() < 0.05 else value
        row["dedup_group"] = int(rng.integers(0, max(2, n // 40))) if rng.random() < 0.6 else None
        rows.append(row)

    with engine.begin() as conn:
        conn.execute(
            update(pairs)
            .where(pairs.c.id == bindparam("b_id"))
            .values({c: bindparam(c) for c in [*SCORE_COLUMNS, "dedup_group"]}),
            rows,
        )
    frame.invalidate(engine)
    return ids


def random_labels(engine: Engine, ids: list[int], count: int, seed: int, queue: str = "random") -> None:
    """Label ``count`` of ``ids`` at random (half accept, half reject) in one transaction."""
    import datetime as dt

    from db.schema import labels

    rng = np.random.default_rng(seed)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = [
        {"pair_id": int(i), "decision": "accept" if rng.random() < 0.5 else "reject", "note": "", "queue": queue,
         "labelled_at": now}
        for i in rng.choice(ids, size=count, replace=False)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(labels.insert(), rows)
