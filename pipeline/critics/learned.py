"""The learned critic's inputs for a batch of pairs: the stored scores it was trained on and the
embedder's vectors of both sentences (each distinct text encoded once)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # both import torch; the score job imports this module before loading a model
    from models.critics import Embedder
    from models.learned_critic import LearnedCritic


def score_matrix(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> np.ndarray:
    """``rows x columns`` of stored scores, NaN where a score is missing."""
    return np.array(
        [[np.nan if row.get(c) is None else float(row[c]) for c in columns] for row in rows], dtype=np.float64
    ).reshape(len(rows), len(columns))


def pair_vectors(
    embedder: Embedder, sources: Sequence[str], targets: Sequence[str], batch_size: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (u of each source, v of each target), encoding every distinct text once."""
    position = {text: i for i, text in enumerate(dict.fromkeys([*sources, *targets]))}
    vectors = embedder.encode(list(position), batch_size=batch_size).astype(np.float64)
    return vectors[[position[t] for t in sources]], vectors[[position[t] for t in targets]]


def learned_probabilities(
    critic: LearnedCritic, embedder: Embedder, rows: Sequence[dict[str, Any]], batch_size: int = 128
) -> np.ndarray:
    """p(accept) of each row (``source``, ``target`` and the critic's score columns)."""
    if not rows:
        return np.zeros(0)
    u, v = pair_vectors(embedder, [r["source"] for r in rows], [r["target"] for r in rows], batch_size)
    sources, targets = [r["source"] for r in rows], [r["target"] for r in rows]
    return critic.predict(score_matrix(rows, critic.score_columns), sources, targets, u, v)
