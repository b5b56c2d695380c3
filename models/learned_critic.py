"""A critic learned from human labels: regularised logistic regression over the stored scores, word-overlap
features of the two sentences, the embedder's cosine and, as a second candidate, the embedder's two sentence
vectors combined (|u - v| and u * v). The candidate with the best cross-validated AUC is kept.

Saved as one folder holding ``critic.json``: the feature names, the standardisation (mean, scale), the
coefficients and intercept as plain numbers, the embedder it needs, and the metadata (task, training-set
hash, label counts, cross-validated AUC of every candidate, the date). Loading reads JSON only — nothing
is unpickled, so a critic folder from someone else cannot run code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
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
#: (name, inverse L2 strength C, uses the sentence vectors), compared by cross-validated AUC
CANDIDATES: tuple[tuple[str, float, bool], ...] = (
    ("logistic, scores + overlap, C=0.1", 0.1, False),
    ("logistic, scores + overlap, C=1", 1.0, False),
    ("logistic, scores + overlap + vectors, C=0.003", 0.003, True),
    ("logistic, scores + overlap + vectors, C=0.03", 0.03, True),
)
OVERLAP_FEATURES = (
    "abs_log_length_ratio",  # |log(len(target) / len(source))|, characters
    "jaccard_1", "jaccard_2", "jaccard_3",  # shared word n-grams / all word n-grams of the two
    "target_in_source", "source_in_target",  # share of one side's words found in the other
    "word_count_gap",  # |words(x) - words(y)| / max
    "numbers_differing",  # numbers in one sentence and not the other
)  # fmt: skip
_EDGE = re.compile(r"^\W+|\W+$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
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


def _words(text: str) -> list[str]:
    return [w for w in (_EDGE.sub("", token) for token in text.lower().split()) if w]


def _grams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return set(zip(*[words[i:] for i in range(n)], strict=False))


def overlap_features(source: str, target: str) -> list[float]:
    """The ``OVERLAP_FEATURES`` of one pair (pure text, no model)."""
    a, b = _words(source), _words(target)
    ratio = max(len(target.strip()), 1) / max(len(source.strip()), 1)
    out = [abs(math.log(ratio))]
    for n in (1, 2, 3):
        x, y = _grams(a, n), _grams(b, n)
        out.append(len(x & y) / len(x | y) if x | y else 0.0)
    shared = len(set(a) & set(b))
    out += [shared / max(len(set(b)), 1), shared / max(len(set(a)), 1)]
    out.append(abs(len(a) - len(b)) / max(len(a), len(b), 1))
    out.append(float(len(set(_NUMBER.findall(source)) ^ set(_NUMBER.findall(target)))))
    return out


def feature_names(score_columns: Sequence[str], dim: int, vectors: bool) -> list[str]:
    names = [*score_columns, *OVERLAP_FEATURES, "cosine"]
    return names + (
        [f"absdiff_{i}" for i in range(dim)] + [f"prod_{i}" for i in range(dim)] if vectors else []
    )


def features(
    scores: np.ndarray,
    sources: Sequence[str],
    targets: Sequence[str],
    u: np.ndarray,
    v: np.ndarray,
    fill: np.ndarray,
    vectors: bool,
) -> np.ndarray:
    """Rows of [scores (NaN replaced by ``fill``), overlap features, cos(u, v)] and, with ``vectors``,
    [|u - v|, u * v] for unit vectors u, v."""
    scores = np.where(np.isnan(scores), fill[None, :], scores)
    overlap = np.array(
        [overlap_features(s, t) for s, t in zip(sources, targets, strict=True)], dtype=np.float64
    )
    cosine = np.einsum("ij,ij->i", u, v)[:, None]
    parts = [scores, overlap.reshape(len(scores), len(OVERLAP_FEATURES)), cosine]
    if vectors:
        parts += [np.abs(u - v), u * v]
    return np.hstack(parts).astype(np.float64)


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
    vectors: bool = False  # whether |u - v| and u * v are features
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """What ``pairs.learned_model`` records: the folder and the training-set hash."""
        return f"{self.meta.get('path', '?')}@{self.meta.get('training_hash', '?')[:12]}"

    def predict(
        self, scores: np.ndarray, sources: Sequence[str], targets: Sequence[str], u: np.ndarray, v: np.ndarray
    ) -> np.ndarray:
        """p(accept) per pair (``scores`` holds the critic's ``score_columns``, NaN where missing)."""
        x = features(scores, sources, targets, u, v, np.asarray(self.fill), self.vectors)
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
        width = len(critic.score_columns) + len(OVERLAP_FEATURES) + 1
        dim = (len(critic.coef) - width) // 2
        expected = width + 2 * dim if critic.vectors else width
        if len(critic.coef) != expected or not (len(critic.mean) == len(critic.scale) == len(critic.coef)):
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
    sources: Sequence[str],
    targets: Sequence[str],
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
    matrices = {flag: features(scores, sources, targets, u, v, fill, flag) for flag in (False, True)}
    candidates = {name: cross_validated_auc(matrices[vec], labels, c, seed) for name, c, vec in CANDIDATES}
    best_name = max(candidates, key=lambda name: candidates[name])
    _, best_c, vectors = next(row for row in CANDIDATES if row[0] == best_name)
    x = matrices[vectors]
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
        vectors=vectors,
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
