"""Agreement of each critic with human labels: AUC, its bootstrap interval, cuts for a target precision."""

from __future__ import annotations

import numpy as np
import pytest

from curation.agreement import (
    agreement,
    agreement_table,
    bootstrap_auc,
    curve_points,
    curves,
    roc_auc,
    threshold_for_precision,
)
from curation.recipe import Recipe
from curation.review import set_label
from tests.curation.helpers import add_scored


def test_auc_matches_a_hand_computed_case():
    # pairs (pos, neg): 0.35>0.1, 0.35<0.4, 0.8>0.1, 0.8>0.4 -> 3 of 4
    assert roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1], bool)) == 0.75


def test_auc_counts_a_tie_as_one_half():
    # (0.5 vs 0.5) = 1/2, (0.5 vs 0.1) = 1, (0.9 vs 0.5) = 1, (0.9 vs 0.1) = 1 -> 3.5 / 4
    assert roc_auc(np.array([0.5, 0.5, 0.9, 0.1]), np.array([1, 0, 1, 0], bool)) == 0.875


def test_auc_is_undefined_with_one_class():
    assert np.isnan(roc_auc(np.array([0.1, 0.2]), np.array([1, 1], bool)))


def test_bootstrap_interval_contains_the_point_estimate():
    rng = np.random.default_rng(3)
    positive = rng.random(200) < 0.5
    scores = rng.normal(size=200) + positive
    low, high = bootstrap_auc(scores, positive, samples=300, seed=1)
    assert low < roc_auc(scores, positive) < high
    assert low > 0.5 and high < 1.0
    assert bootstrap_auc(scores, positive, samples=300, seed=1) == (low, high)  # seeded


def test_threshold_for_a_target_precision_keeps_the_most_accepted_pairs():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    positive = np.array([1, 1, 0, 1, 0, 0], bool)
    assert threshold_for_precision(scores, positive, 0.75) == (0.6, 0.75, 1.0)
    assert threshold_for_precision(scores, positive, 0.9) == (0.8, 1.0, pytest.approx(2 / 3))
    assert threshold_for_precision(np.array([0.9, 0.1]), np.array([0, 1], bool), 0.9) is None


def test_roc_curve_area_is_the_auc_and_pr_points_match_each_cut():
    rng = np.random.default_rng(5)
    positive = rng.random(300) < 0.4
    scores = np.round(rng.normal(size=300) + positive, 1)  # rounded: many ties
    points = curve_points(scores, positive, max_points=10_000)
    fpr, tpr = np.array(points["roc"]).T
    assert points["roc"][0] == (0.0, 0.0) and points["roc"][-1] == (1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoids: ties count one half
    assert area == pytest.approx(roc_auc(scores, positive))
    # the first precision-recall point is the highest cut alone: recall = its hits / all positives
    top = scores == scores.max()
    assert points["pr"][0] == pytest.approx((positive[top].sum() / positive.sum(), positive[top].mean()))
    assert len(curve_points(scores, positive, max_points=20)["roc"]) <= 21  # thinned, plus (0, 0)
    assert curve_points(scores, np.ones(300, bool)) == {"roc": [], "pr": []}


def test_threshold_never_splits_a_tie():
    # cutting inside the tie at 0.7 would claim precision 1.0 for a set the cut cannot separate
    scores = np.array([0.7, 0.7, 0.2])
    assert threshold_for_precision(scores, np.array([1, 0, 1], bool), 0.9) is None


def labelled_pairs(engine):
    """Six labelled paraphrases where embed_cosine separates perfectly and rouge_l inversely; one unscored."""
    cases = [(0.95, 0.2, "accept"), (0.9, 0.3, "accept"), (0.85, 0.1, "accept")]
    cases += [(0.6, 0.8, "reject"), (0.5, 0.9, "reject"), (0.82, 0.7, "reject")]
    for cosine, rouge, decision in cases:
        set_label(engine, add_scored(engine, embed_cosine=cosine, rouge_l=rouge), decision)
    set_label(engine, add_scored(engine, embed_cosine=None), "accept")
    add_scored(engine)  # unlabelled: ignored


def test_agreement_per_column_counts_unscored_and_uses_the_recipe(engine):
    labelled_pairs(engine)
    recipe = Recipe.default("paraphrase", "embedding")
    rows = {r["column"]: r for r in agreement(engine, recipe, target=0.9, samples=50)}
    cosine = rows["embed_cosine"]
    assert (cosine["labelled"], cosine["scored"], cosine["unscored"]) == (7, 6, 1)
    assert cosine["auc"] == 1.0 and cosine["recipe_check"] == ">= 0.8"
    # >= 0.8 keeps 0.95, 0.9, 0.85 (accepted) and 0.82 (rejected)
    assert (cosine["precision"], cosine["recall"]) == (0.75, 1.0)
    assert (cosine["target_bound"], cosine["target_threshold"], cosine["target_recall"]) == ("min", 0.85, 1.0)
    rouge = rows["rouge_l"]  # lower = keep; the pair without a cosine has rouge_l 0.4 and is accepted
    assert rouge["auc"] == 1.0 and (rouge["target_bound"], rouge["target_threshold"]) == ("max", 0.4)
    assert rows["nli_forward"]["auc"] == 0.5  # every pair has the same nli_forward: chance
    table = agreement_table(list(rows.values()), 0.9)
    assert "auc_embed_cosine=1.0000" in table.splitlines() and "auc_rouge_l=1.0000" in table


def test_curves_cover_the_critics_with_both_kinds_of_label(engine):
    labelled_pairs(engine)
    found = curves(engine, Recipe.default("paraphrase", "embedding"))
    assert {"embed_cosine", "rouge_l", "nli_forward"} <= set(found) and "learned" not in found  # unscored

    def area(column: str) -> float:
        fpr, tpr = np.array(found[column]["roc"]).T
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))

    assert area("embed_cosine") == 1.0 and area("rouge_l") == 1.0  # rouge_l turned: lower = keep
    assert area("nli_forward") == 0.5  # one value for every pair: the diagonal


def test_agreement_without_labels_is_a_clear_error(engine):
    add_scored(engine)
    with pytest.raises(ValueError, match="No paraphrase pair has a human label"):
        agreement(engine, Recipe.default("paraphrase", "embedding"))
    with pytest.raises(ValueError, match="Target precision"):
        agreement(engine, Recipe.default("paraphrase", "embedding"), target=1.5)
