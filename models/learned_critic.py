"""A critic learned from human labels: regularised logistic regression over the stored scores and the
embedder's two sentence vectors combined (cosine, |u - v| and u * v).

Saved as one folder holding ``critic.json``: the feature names, the standardisation (mean, scale), the
coefficients and intercept as plain numbers, the embedder it needs, and the metadata (task, training-set
hash, label counts, cross-validated AUC of every candidate, the date). Loading reads JSON only — nothing
is unpickled, so a critic folder from someone else cannot run code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.loading import ModelLoadError

FORMAT = "impossible-learned-critic/1"
FILE = "critic.json"
MIN_LABELS = 20
MIN_PER_CLASS = 5  # five cross-validation folds need one of each class per fold
C_CANDIDATES = (0.03, 0.1, 0.3, 1.0)  # inverse L2 strength, chosen by cross-validated AUC
CV_FOLDS = 5


class NotEnoughLabels(ValueError):
    """Too few labelled pairs (or one class only) to train or evaluate a critic."""


def check_label_counts(accepted: int, rejected: int) -> None:
    """Raise ``NotEnoughLabels`` saying how many more labels are needed."""
    total = accepted + rejected
    have = f"there are {total} ({accepted} accept, {rejected} reject)"
    if total < MIN_LABELS:
        raise NotEnoughLabels(
            f"A learned critic needs at least {MIN_LABELS} labelled pairs; {have}: label {MIN_LABELS - total} more."
        )
    for name, count in (("accept", accepted), ("reject", rejected)):
        if count < MIN_PER_CLASS:
            raise NotEnoughLabels(
                f"A learned critic needs at least {MIN_PER_CLASS} pairs of each label; {have}: "
                f"label {MIN_PER_CLASS - count} more as {name}."
            )


def feature_names(score_columns: Sequence[str], dim: int) -> list[str]:
    return [
        *score_columns,
        "cosine",
        *[f"absdiff_{i}" for i in range(dim)],
        *[f"prod_{i}" for i in range(dim)],
    ]


def features(scores: np.ndarray, u: np.ndarray, v: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Rows of [scores (NaN replaced by ``fill``), cos(u, v), |u - v|, u * v] for unit vectors u, v."""
    scores = np.where(np.isnan(scores), fill[None, :], scores)
    cosine = np.einsum("ij,ij->i", u, v)[:, None]
    return np.hstack([scores, cosine, np.abs(u - v), u * v]).astype(np.float64)


def training_hash(sources: Sequence[str], targets: Sequence[str], labels: np.ndarray) -> str:
    """sha256 of the training pairs and labels, in a fixed order (equal sets hash equal)."""
    rows = sorted(f"{s}\x00{t}\x00{int(y)}" for s, t, y in zip(sources, targets, labels, strict=True))
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


@dataclass
class LearnedCritic:
    """A fitted critic: ``predict`` gives p(accept) per pair."""

    task: str
    embedder: str
    score_columns: list[str]
    fill: list[float]  # training mean of each score column, used where a score is missing
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """What ``pairs.learned_model`` records: the folder and the training-set hash."""
        return f"{self.meta.get('path', '?')}@{self.meta.get('training_hash', '?')[:12]}"

    def predict(self, scores: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        x = features(scores, u, v, np.asarray(self.fill))
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        logits = z @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def save(self, folder: Path | str) -> Path:
        """Write ``critic.json`` into ``folder`` atomically; return its path."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE
        temp = path.with_name(f".{FILE}.{os.getpid()}.partial")
        temp.write_text(json.dumps({"format": FORMAT, **asdict(self)}))
        os.replace(temp, path)
        return path


def load_critic(folder: Path | str) -> LearnedCritic:
    """A critic saved by ``LearnedCritic.save``; ``ModelLoadError`` in one sentence when missing or broken."""
    path = Path(folder) / FILE
    if not path.is_file():
        raise ModelLoadError(
            f"Cannot load learned critic {str(folder)!r}: {path} does not exist. "
            "Train one with `impossible critic train --out DIR` and pass that folder."
        )
    try:
        data = json.loads(path.read_text())
        if data.pop("format", None) != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        critic = LearnedCritic(**data)
        width = len(critic.score_columns) + 1
        dim = (len(critic.coef) - width) // 2
        if len(critic.coef) != width + 2 * dim or not (
            len(critic.mean) == len(critic.scale) == len(critic.coef)
        ):
            raise ValueError("its coefficient and feature counts disagree")
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelLoadError(
            f"Cannot load learned critic {str(folder)!r}: {path} is broken ({exc}). Train it again."
        ) from exc
    critic.meta["path"] = str(folder)
    return critic


def _pipeline(c: float, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed))


def cross_validated_auc(x: np.ndarray, y: np.ndarray, c: float, seed: int) -> float:
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(_pipeline(c, seed), x, y, cv=folds, scoring="roc_auc")))


def fit_critic(
    scores: np.ndarray,
    u: np.ndarray,
    v: np.ndarray,
    labels: np.ndarray,
    *,
    score_columns: Sequence[str],
    task: str,
    embedder: str,
    seed: int = 0,
    meta: dict[str, Any] | None = None,
) -> LearnedCritic:
    """Choose the regularisation by cross-validated AUC, refit on every label, return the critic.

    ``labels`` is 1 for accept, 0 for reject. The same inputs and seed give the same coefficients.
    """
    labels = np.asarray(labels, dtype=np.int64)
    check_label_counts(int(labels.sum()), int(len(labels) - labels.sum()))
    with warnings.catch_warnings():  # a column missing everywhere has no mean: fill it with 0
        warnings.simplefilter("ignore", RuntimeWarning)
        fill = np.nan_to_num(np.nanmean(scores, axis=0), nan=0.0)
    x = features(scores, u, v, fill)
    candidates = {f"logistic C={c:g}": cross_validated_auc(x, labels, c, seed) for c in C_CANDIDATES}
    best_name = max(candidates, key=lambda name: candidates[name])
    best_c = C_CANDIDATES[list(candidates).index(best_name)]
    model = _pipeline(best_c, seed).fit(x, labels)
    scaler, regression = model[0], model[1]
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    return LearnedCritic(
        task=task,
        embedder=embedder,
        score_columns=list(score_columns),
        fill=fill.tolist(),
        mean=scaler.mean_.tolist(),
        scale=scale.tolist(),
        coef=regression.coef_[0].tolist(),
        intercept=float(regression.intercept_[0]),
        meta={
            **(meta or {}),
            "model": best_name,
            "cv_auc": candidates[best_name],
            "candidates": candidates,
            "features": len(x[0]),
            "accepted": int(labels.sum()),
            "rejected": int(len(labels) - labels.sum()),
            "seed": seed,
            "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        },
    )
