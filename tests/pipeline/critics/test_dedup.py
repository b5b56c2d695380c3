"""Dedup groups: identical text, mutual entailment and embedding fallback link sentences; the grouping
equals the paper's Algorithm 1 on the pairs a recipe keeps; the database round trip is stable."""

import itertools

import numpy as np
from sqlalchemy import select, update

from db.queries import insert_pairs
from db.schema import pairs
from db.types import Pair
from pipeline.critics.dedup import (
    changed_groups,
    equivalence_groups,
    mutual_score,
    normalise_text,
    text_keys,
)


def groups_of(rows, threshold=0.75):
    """rows: (pair id, source, target, mutual score) -> group per row."""
    ids = np.array([r[0] for r in rows])
    sources, targets = text_keys([r[1] for r in rows]), text_keys([r[2] for r in rows])
    return equivalence_groups(ids, sources, targets, np.array([r[3] for r in rows], dtype=float), threshold)


def test_normalised_text_ignores_case_punctuation_and_spacing():
    assert {
        normalise_text(t) for t in ["The  cat, sat.", "the cat sat", " The cat_sat!", "ＴＨＥ cat sat"]
    } == {"the cat sat"}
    assert normalise_text("The cat sat on 3 mats.") != normalise_text("The cat sat on 4 mats.")


def test_mutually_entailing_sentences_form_one_group_named_by_the_smallest_pair_id():
    groups = groups_of(
        [
            (10, "a", "b", 0.9),
            (11, "a", "c", 0.9),
            (12, "b", "c", 0.95),
            (13, "d", "e", 0.2),  # not equivalent: d and e stay apart
            (14, "e", "f", 0.1),
            (15, "A.", "z", 0.0),  # identical normalised source text joins a's group
        ]
    )
    assert groups.tolist() == [10, 10, 10, 13, 14, 10]


def test_mutual_score_is_min_of_both_nli_directions_else_embedding_cosine():
    nan = np.nan
    forward = np.array([0.9, 0.9, nan, nan])
    backward = np.array([0.6, 0.95, nan, 0.8])
    cosine = np.array([0.99, 0.1, 0.85, 0.7])
    assert mutual_score(forward, backward, cosine).tolist() == [0.6, 0.9, 0.85, 0.7]


def literal_algorithm_1(survivors, meaning):
    """The paper's Algorithm 1 on surviving pairs: link two pairs when their sources or their targets are
    equivalent (an oracle knows each sentence's meaning), keep one per connected component."""
    parent = list(range(len(survivors)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(len(survivors)), 2):
        (s1, t1), (s2, t2) = survivors[i][1:3], survivors[j][1:3]
        if meaning[s1] == meaning[s2] or meaning[t1] == meaning[t2]:
            parent[find(i)] = find(j)
    return {
        frozenset(p[0] for k, p in enumerate(survivors) if find(k) == root)
        for root in set(map(find, range(len(survivors))))
    }


def test_groups_equal_algorithm_1_on_the_pairs_a_recipe_keeps():
    """Sentences of one meaning in a context are scored high against each other; a sentence of each
    context reappears verbatim in the next one (as teachers repeat themselves), carrying its meaning
    across contexts. The oracle knows every meaning; the grouping sees only scores and text."""
    rng = np.random.default_rng(7)
    rows, meaning, pair_id, carried = [], {}, 0, None
    for context in range(12):
        sentences = [f"c{context} s{i}" for i in range(6)]
        choices = [(context, 1), (context, 2), meaning[carried] if carried else (context, 0)]
        for sentence in sentences:
            meaning[sentence] = choices[int(rng.integers(3))]
        if carried:
            sentences[0] = carried
        carried = sentences[1]
        for source, target in itertools.combinations(sentences, 2):
            same = meaning[source] == meaning[target]
            score = rng.uniform(0.8, 1.0) if same else rng.uniform(0.0, 0.5)
            rows.append((pair_id, source, target, score))
            pair_id += 1
    groups = groups_of(rows)
    survivors = [r for r in rows if r[3] >= 0.75]  # a recipe with the default NLI threshold
    ours: dict[int, set[int]] = {}
    for row, group in zip(rows, groups, strict=True):
        if row[3] >= 0.75:
            ours.setdefault(int(group), set()).add(row[0])
    assert {frozenset(s) for s in ours.values()} == literal_algorithm_1(survivors, meaning)


def test_database_round_trip_is_stable(engine):
    items = [
        Pair("Rain fell in Paris.", "It rained in Paris.", scores={"embed_cosine": 0.9}),
        Pair("Rain fell in Paris.", "Stocks rose sharply.", scores={"embed_cosine": 0.1}),
        Pair("It rained in Paris.", "Paris saw rain.", scores={"nli_forward": 0.8, "nli_backward": 0.9}),
        Pair("Stocks rose sharply.", "Shares climbed.", scores={"embed_cosine": 0.3}),
    ]
    with engine.begin() as conn:
        insert_pairs(conn, items)
    ids, groups, count = changed_groups(engine)
    assert len(ids) == 4 and count == 2
    with engine.begin() as conn:
        for pair_id, group in zip(ids, groups, strict=True):
            conn.execute(update(pairs).where(pairs.c.id == int(pair_id)).values(dedup_group=int(group)))
        stored = conn.execute(select(pairs.c.dedup_group).order_by(pairs.c.id)).scalars().all()
    first = int(ids.min())
    assert stored == [first, first, first, first + 3]
    assert len(changed_groups(engine)[0]) == 0  # nothing changed: nothing to write
