"""Curate-page numbers: survivors, per-critic attribution, loosening, histograms, paging and diffs."""

from __future__ import annotations

import numpy as np
import pytest

from curation import frame as frames
from curation.recipe import Recipe
from curation.review import set_label
from curation.select import selected_ids
from curation.stats import bin_edges, diff_html, page, stats_report, summarize, word_diff
from tests.curation.helpers import add_scored, random_labels, random_scores

NLI = Recipe.default("paraphrase", "nli")


def critic(summary: dict, bound: str, column: str) -> dict:
    return next(c for c in summary["critics"] if (c["bound"], c["column"]) == (bound, column))


def test_per_critic_attribution(engine):
    add_scored(engine)  # survives
    add_scored(engine, rouge_l=0.9)  # only rouge_l
    add_scored(engine, rouge_l=0.9, nli_forward=0.1)  # rouge_l and nli_forward
    add_scored(engine, rouge_l=0.78)  # only rouge_l, within one 0.05 step
    summary = summarize(engine, NLI)
    assert summary["total"] == 4 and summary["survivors"] == 1
    rouge = critic(summary, "max", "rouge_l")
    assert (rouge["removes_alone"], rouge["removes_only"]) == (3, 2)
    assert rouge["loosen_to"] == pytest.approx(0.8) and rouge["loosen_adds"] == 1
    forward = critic(summary, "min", "nli_forward")
    assert (forward["removes_alone"], forward["removes_only"], forward["loosen_adds"]) == (1, 0, 0)


def test_loosen_adds_respects_dedup(engine):
    add_scored(engine, dedup_group=5, nli_forward=0.9)
    add_scored(engine, dedup_group=5, rouge_l=0.78)  # would pass one step looser but its group is taken
    add_scored(engine, rouge_l=0.78)
    summary = summarize(engine, NLI)
    assert critic(summary, "max", "rouge_l")["loosen_adds"] == 1


def test_dedup_and_label_effects_are_counted(engine):
    add_scored(engine, dedup_group=1, nli_forward=0.95)
    add_scored(engine, dedup_group=1)
    bad = add_scored(engine, rouge_l=0.99)
    set_label(engine, bad, "accept")
    summary = summarize(engine, NLI)
    assert summary["dedup_removed"] == 1
    assert summary["human_added"] == 1 and summary["accepted"] == 1
    assert summary["survivors"] == 2


def test_histograms_cover_all_pairs_and_survivors(engine):
    random_scores(engine, 200, seed=4, tasks=("paraphrase",))
    frame = frames.get_frame(engine)
    summary = summarize(frame, NLI)
    rouge = summary["histograms"]["rouge_l"]
    assert rouge["edges"] == bin_edges("rouge_l") and len(rouge["all"]) == 20
    assert sum(rouge["all"]) + rouge["missing_all"] == summary["total"] == 200
    assert sum(rouge["survivors"]) + rouge["missing_survivors"] == summary["survivors"]
    assert rouge["max"] == 0.75
    assert summary["survivors"] == len(selected_ids(engine, NLI))


def test_histogram_bins_are_half_open_and_clip_the_top(engine):
    for value in (0.0, 0.049, 0.05, 0.7, 0.75, 1.0):
        add_scored(engine, rouge_l=value, length_ratio=3.7 if value == 1.0 else 1.0)
    add_scored(engine, rouge_l=None)
    histograms = summarize(engine, NLI)["histograms"]
    counts = histograms["rouge_l"]["all"]
    assert {i: c for i, c in enumerate(counts) if c} == {0: 2, 1: 1, 14: 1, 15: 1, 19: 1}
    assert histograms["rouge_l"]["missing_all"] == 1
    assert histograms["length_ratio"]["all"][29] == 1 and histograms["length_ratio"]["all"][10] == 6


def test_page_of_kept_and_rejected_with_reasons_and_diff(engine):
    kept = add_scored(engine, nli_forward=0.8)
    dup = add_scored(engine, dedup_group=2)
    best = add_scored(engine, dedup_group=2, nli_forward=0.99)
    low = add_scored(engine, nli_forward=0.5, rouge_l=0.9)
    refused = add_scored(engine)
    set_label(engine, refused, "reject", note="meaning changed")
    rows = page(engine, NLI, "kept")
    assert [r["id"] for r in rows] == [kept, best]
    assert rows[0]["reasons"] == [] and rows[0]["diff"][0][0] in ("equal", "delete", "insert")
    rejected = {r["id"]: r for r in page(engine, NLI, "rejected")}
    assert rejected[dup]["reasons"] == ["duplicate"]
    assert rejected[low]["reasons"] == ["nli_forward_low", "rouge_l_high"]
    assert (
        rejected[refused]["reasons"] == ["human_rejected"] and rejected[refused]["note"] == "meaning changed"
    )
    assert rejected[refused]["label"] == "reject"
    by_score = page(engine, NLI, "kept", sort="-nli_forward")
    assert [r["id"] for r in by_score] == [best, kept]
    assert [r["id"] for r in page(engine, NLI, "kept", offset=1, limit=1)] == [best]


def test_page_sort_matches_full_sort_with_ties(engine):
    random_scores(engine, 300, seed=6, tasks=("paraphrase",))
    loose = Recipe("paraphrase", {}, {}, dedup=False)
    frame = frames.get_frame(engine)
    values = frame.scores["nli_forward"]
    key = np.where(np.isnan(values), np.inf, -values)
    expected = frame.ids[np.lexsort((frame.ids, key))]
    got = [r["id"] for r in page(engine, loose, "kept", offset=10, limit=25, sort="-nli_forward")]
    assert got == expected[10:35].tolist()


def test_page_rejects_unknown_sort(engine):
    with pytest.raises(ValueError, match="Cannot sort by"):
        page(engine, NLI, "kept", sort="colour")


def test_word_diff_and_escaped_html():
    ops = word_diff("The cat sat <here>.", "The dog sat <here>.")
    assert ops == [("equal", "The"), ("delete", "cat"), ("insert", "dog"), ("equal", "sat <here>.")]
    assert diff_html(ops) == "The <del>cat</del> <ins>dog</ins> sat &lt;here&gt;."


def test_stats_report_names_semantic_critic_and_stages(engine):
    add_scored(engine, nli_forward=None, nli_backward=None)
    report = stats_report(engine)
    assert "embedding cosine (no NLI model has scored this database)" in report
    assert "survivors" in report and "min embed_cosine" in report


@pytest.mark.parametrize("seed", [11, 12])
def test_loosen_adds_equals_a_full_recomputation(engine, seed):
    from tests.curation.test_frame import random_recipe

    ids = random_scores(engine, 400, seed)
    rng = np.random.default_rng(seed)
    random_labels(engine, ids, 30, seed)
    frame = frames.get_frame(engine)
    checked = 0
    for _ in range(10):
        recipe = random_recipe(rng, str(rng.choice(["paraphrase", "summary"])))
        summary = summarize(frame, recipe)
        selected = frame.selection_mask(recipe)
        for c in summary["critics"]:
            wider = recipe.with_threshold(c["bound"], c["column"], c["loosen_to"])
            expected = int((frame.selection_mask(wider) & ~selected).sum())
            assert c["loosen_adds"] == expected, (recipe, c)
            checked += expected > 0
    assert checked > 0
