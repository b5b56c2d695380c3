"""Dedup (method.md, the paper's Algorithm 1), made instant at curation time.

Algorithm 1 runs on the pairs that survive the critics: it links two pairs when their sources (or their
targets) entail each other, and keeps the best pair (highest p(x=>y) + p(y=>x)) of each connected
component. Run literally, it depends on the recipe (which pairs survive) and needs an NLI call per pair
of pairs. We compute instead, once per score job, an *equivalence group per sentence*:

1. Sentences are nodes, keyed by their normalised text (lowercase, punctuation and extra spaces
   dropped), so identical sentences anywhere in the database — across contexts, jobs and imports,
   with or without sentence ids — are one node.
2. Every scored pair whose mutual score (min(nli_forward, nli_backward), or embed_cosine when the pair
   has no NLI scores) is >= the dedup threshold is an edge: its two sentences say the same thing.
3. The connected components of that graph are the equivalence groups; a pair's ``dedup_group`` is the
   group of its source, named by the smallest pair id in it (stable from run to run).

Why this is Algorithm 1: a pair that survives a paraphrase recipe has source <=> target, i.e. its own
edge (when the recipe's semantic threshold is at least the dedup threshold, as with the defaults,
0.75 and 0.75). Two surviving pairs that Algorithm 1 links have equivalent sources or equivalent
targets; with each pair's endpoints equivalent too, all four sentences sit in one component, so both
pairs carry the same group. Algorithm 1's components therefore collapse to these groups, and curation
(``curation.select``) keeps the best passing pair per ``dedup_group`` with a plain window query, for
any recipe, without running a model. Limits: equivalence is only known where a pair was scored (pairs
come from one context) or texts are identical; a summary pair, having no backward score, links its
source and target only through embed_cosine or identical text, so summary groups follow sources.

Everything is vectorised (``np.unique``, ``scipy.sparse.csgraph.connected_components``) and
read in chunks, so millions of pairs take seconds and the text itself is never held all at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import Engine, select

from db.schema import pairs

DEFAULT_DEDUP_THRESHOLD = 0.75
READ_CHUNK = 100_000
_SEPARATORS = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """Lowercase, Unicode-normalised, with punctuation and runs of spaces turned into one space: the
    identity of a sentence ("The cat, sat." and "the cat sat" are the same sentence)."""
    return _SEPARATORS.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def text_keys(texts: Iterable[str]) -> np.ndarray:
    """A 64-bit key per normalised text: Python's string hash, so keys compare equal only within one
    process — which is all grouping needs (it stores pair ids, never keys). Collisions: ~1e-7 at 10
    million distinct sentences. Each distinct text of the call is normalised once: a sentence of a
    context with k samples appears in k - 1 pairs, and the pairs of a context are read together."""
    known: dict[str, int] = {}

    def key(text: str) -> int:
        found = known.get(text)
        if found is None:
            found = known[text] = hash(normalise_text(str(text)))
        return found

    return np.fromiter((key(t) for t in texts), dtype=np.int64)


def mutual_score(nli_forward: np.ndarray, nli_backward: np.ndarray, embed_cosine: np.ndarray) -> np.ndarray:
    """How surely a pair's two sentences are equivalent: min of both NLI directions, else embed_cosine
    (NaN when neither is known, which never links)."""
    nli = np.fmin(nli_forward, nli_backward)
    both = ~np.isnan(nli_forward) & ~np.isnan(nli_backward)
    return np.where(both, nli, embed_cosine)


def equivalence_groups(
    pair_ids: np.ndarray,
    source_keys: np.ndarray,
    target_keys: np.ndarray,
    mutual: np.ndarray,
    threshold: float = DEFAULT_DEDUP_THRESHOLD,
) -> np.ndarray:
    """Each pair's dedup group: the smallest pair id among pairs whose sources share its component."""
    n = len(pair_ids)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    nodes, inverse = np.unique(np.concatenate([source_keys, target_keys]), return_inverse=True)
    source_node, target_node = inverse[:n], inverse[n:]
    linked = np.nan_to_num(mutual, nan=-1.0) >= threshold
    graph = coo_matrix(
        (np.ones(int(linked.sum()), dtype=np.int8), (source_node[linked], target_node[linked])),
        shape=(len(nodes), len(nodes)),
    )
    _, component_of_node = connected_components(graph, directed=False)
    component = component_of_node[source_node]
    smallest = np.full(component_of_node.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, component, pair_ids.astype(np.int64))
    return smallest[component]


@dataclass
class DedupInputs:
    """What grouping needs from every pair, without its text."""

    ids: np.ndarray
    source_keys: np.ndarray
    target_keys: np.ndarray
    mutual: np.ndarray
    current_groups: np.ndarray  # -1 where NULL


def load_dedup_inputs(engine: Engine, chunk: int = READ_CHUNK) -> DedupInputs:
    """Read every pair in chunks, hashing texts as they stream by (NULL scores become NaN)."""
    columns = [pairs.c.id, pairs.c.source, pairs.c.target, pairs.c.nli_forward, pairs.c.nli_backward]
    columns += [pairs.c.embed_cosine, pairs.c.dedup_group]
    parts: list[dict[str, np.ndarray]] = []
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk).execute(select(*columns).order_by(pairs.c.id))
        for rows in result.partitions():
            ids, sources, targets, forward, backward, cosine, groups = zip(*rows, strict=True)
            parts.append(
                {
                    "ids": np.array(ids, dtype=np.int64),
                    "source_keys": (keys := text_keys(sources + targets))[: len(sources)],
                    "target_keys": keys[len(sources) :],
                    "mutual": mutual_score(
                        np.array(forward, dtype=float),
                        np.array(backward, dtype=float),
                        np.array(cosine, dtype=float),
                    ),
                    "current_groups": np.nan_to_num(np.array(groups, dtype=float), nan=-1).astype(np.int64),
                }
            )
    if not parts:
        empty_int = np.zeros(0, dtype=np.int64)
        return DedupInputs(empty_int, empty_int, empty_int, np.zeros(0), empty_int)
    return DedupInputs(**{name: np.concatenate([p[name] for p in parts]) for name in parts[0]})


def changed_groups(
    engine: Engine, threshold: float = DEFAULT_DEDUP_THRESHOLD
) -> tuple[np.ndarray, np.ndarray, int]:
    """(pair ids, their new groups) for the pairs whose group changed, and the number of groups."""
    inputs = load_dedup_inputs(engine)
    groups = equivalence_groups(inputs.ids, inputs.source_keys, inputs.target_keys, inputs.mutual, threshold)
    changed = groups != inputs.current_groups
    return inputs.ids[changed], groups[changed], len(np.unique(groups))
