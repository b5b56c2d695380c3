"""Labels, review queues and the precision estimate."""

from __future__ import annotations

import pytest

from curation.recipe import Recipe
from curation.review import get_label, precision_estimate, review_queue, set_label, wilson_interval
from curation.select import selected_ids
from tests.curation.helpers import add_scored

NLI = Recipe.default("paraphrase", "nli")


def test_set_relabel_and_clear(engine):
    pair_id = add_scored(engine)
    set_label(engine, pair_id, "accept", note="fine", queue="random")
    assert get_label(engine, pair_id)["decision"] == "accept"
    set_label(engine, pair_id, "reject")
    label = get_label(engine, pair_id)
    assert (label["decision"], label["note"], label["queue"]) == ("reject", "", "manual")
    assert set_label(engine, pair_id, None) is None and get_label(engine, pair_id) is None


def test_bad_label_input_is_refused(engine):
    pair_id = add_scored(engine)
    with pytest.raises(ValueError, match="accept, reject or clear"):
        set_label(engine, pair_id, "maybe")
    with pytest.raises(ValueError, match="No pair with id 999"):
        set_label(engine, 999, "accept")


def test_random_queue_samples_unlabelled_survivors_reproducibly(engine):
    survivors = [add_scored(engine) for _ in range(8)]
    add_scored(engine, rouge_l=0.99)
    set_label(engine, survivors[0], "accept")
    first = [r["id"] for r in review_queue(engine, NLI, "random", n=5, seed=3)]
    assert first == [r["id"] for r in review_queue(engine, NLI, "random", n=5, seed=3)]
    assert len(set(first)) == 5 and set(first) <= set(survivors[1:])
    everything = {r["id"] for r in review_queue(engine, NLI, "random", n=50, seed=1)}
    assert everything == set(survivors[1:])


def test_boundary_queue_puts_near_misses_and_near_cuts_first(engine):
    far_in = add_scored(engine, rouge_l=0.1, nli_forward=0.99, nli_backward=0.99, length_ratio=1.0)
    near_in = add_scored(engine, rouge_l=0.74)
    near_out = add_scored(engine, rouge_l=0.76)
    add_scored(engine, rouge_l=0.99, nli_forward=0.1)  # fails two checks: not near any single cut
    queue = [r["id"] for r in review_queue(engine, NLI, "boundary", n=3)]
    assert queue[:2] == [near_in, near_out] and queue[2] == far_in
    assert all(r["queue"] == "boundary" for r in review_queue(engine, NLI, "boundary", n=3))


def test_precision_counts_random_labels_of_the_critics_selection(engine):
    ids = [add_scored(engine) for _ in range(5)]
    outside = add_scored(engine, rouge_l=0.99)
    for pair_id in ids[:3]:
        set_label(engine, pair_id, "accept", queue="random")
    set_label(engine, ids[3], "reject", queue="random")
    set_label(engine, ids[4], "reject", queue="boundary")  # biased queue: not counted
    set_label(engine, outside, "accept", queue="random")  # critics do not keep it: not counted
    estimate = precision_estimate(engine, NLI)
    assert (estimate["n"], estimate["accepted"]) == (4, 3)
    assert estimate["precision"] == 0.75
    assert estimate["low"] == pytest.approx(0.3006, abs=1e-3) and estimate["high"] == pytest.approx(
        0.9544, abs=1e-3
    )
    assert ids[3] not in selected_ids(engine, NLI)  # yet the rejected pair is out of the selection


def test_wilson_interval_edges():
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0) and low == pytest.approx(0.7225, abs=1e-3)
