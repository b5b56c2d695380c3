"""The model-backed critics for a batch of pairs: embedding cosine and NLI in both directions.

Both work on whole batches, never one pair at a time:

- ``embedding_cosine`` encodes each *distinct* text of the batch once. Candidate pairs are all pairs
  of k sentences from one context, so a batch of k(k-1)/2 pairs holds only k texts: with k = 16 that
  is 16 encodings instead of 240.
- ``nli_scores`` sends every direction that is needed (``nli_forward`` = p(source => target),
  ``nli_backward`` = p(target => source)) through one length-sorted batched call. The caller says
  which directions each pair needs: a paraphrase needs both, a summary only the forward one (a summary
  is not expected to entail its source, so the backward score would cost a forward pass and decide
  nothing); a direction already stored is not asked for again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # models.critics imports torch; the score job imports this module before loading it
    from models.critics import Embedder, NliScorer


def embedding_cosine(
    embedder: Embedder, sources: Sequence[str], targets: Sequence[str], batch_size: int = 128
) -> np.ndarray:
    """Cosine similarity of each (source, target), encoding every distinct text once."""
    if len(sources) != len(targets):
        raise ValueError(f"{len(sources)} sources but {len(targets)} targets.")
    if not len(sources):
        return np.zeros(0, dtype=np.float32)
    position = {text: i for i, text in enumerate(dict.fromkeys([*sources, *targets]))}
    vectors = embedder.encode(list(position), batch_size=batch_size)
    left = vectors[[position[text] for text in sources]]
    right = vectors[[position[text] for text in targets]]
    return np.clip(np.einsum("ij,ij->i", left, right), -1.0, 1.0).astype(np.float32)


def nli_scores(
    scorer: NliScorer,
    sources: Sequence[str],
    targets: Sequence[str],
    need_forward: Sequence[bool],
    need_backward: Sequence[bool],
    batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """(forward, backward) entailment probabilities; NaN where a direction was not asked for."""
    n = len(sources)
    if not (len(targets) == len(need_forward) == len(need_backward) == n):
        raise ValueError("sources, targets and the need_* flags must have the same length.")
    forward_rows = np.flatnonzero(np.asarray(need_forward, dtype=bool))
    backward_rows = np.flatnonzero(np.asarray(need_backward, dtype=bool))
    premises = [sources[i] for i in forward_rows] + [targets[i] for i in backward_rows]
    hypotheses = [targets[i] for i in forward_rows] + [sources[i] for i in backward_rows]
    probabilities = scorer.entailment(premises, hypotheses, batch_size=batch_size)
    forward = np.full(n, np.nan, dtype=np.float32)
    backward = np.full(n, np.nan, dtype=np.float32)
    forward[forward_rows] = probabilities[: len(forward_rows)]
    backward[backward_rows] = probabilities[len(forward_rows) :]
    return forward, backward
