"""The ted critic column flows through recipes, the in-memory frame, attribution, histograms, stats,
export and the Curate controls like every other score."""

from __future__ import annotations

import json

import pytest

from curation.export import export_jsonl
from curation.recipe import TED_MIN, Recipe, parse_thresholds
from curation.select import selected_ids
from curation.stats import page, stats_report, summarize
from tests.curation.helpers import add_scored
from ui.recipe_controls import controls_from_recipe, recipe_from_controls

WITH_TED = Recipe.default("paraphrase", "nli").with_threshold("min", "ted", 12)


def test_ted_thresholds_are_edit_counts_not_probabilities():
    assert parse_thresholds(["ted=12"]) == {"ted": 12.0}
    assert Recipe("paraphrase", {"ted": 30}).min == {"ted": 30.0}  # above 1 is fine for a distance
    with pytest.raises(ValueError, match="negative"):
        Recipe("paraphrase", {"ted": -1})


def test_default_recipe_leaves_ted_off():
    for semantic in ("nli", "embedding"):
        assert "ted" not in Recipe.default("paraphrase", semantic).min


def test_ted_in_selection_reasons_attribution_and_histogram(engine):
    restructured = add_scored(engine, ted=20.0)
    same_shape = add_scored(engine, ted=3.0)
    one_below = add_scored(engine, ted=11.0)
    unparsed = add_scored(engine, ted=None)
    assert selected_ids(engine, WITH_TED).tolist() == [restructured]  # the exact SQL agrees
    summary = summarize(engine, WITH_TED)
    assert summary["survivors"] == 1
    ted = next(c for c in summary["critics"] if c["column"] == "ted")
    assert (ted["removes_alone"], ted["removes_only"], ted["loosen_to"], ted["loosen_adds"]) == (
        3,
        3,
        11.0,
        1,
    )
    histogram = summary["histograms"]["ted"]
    assert histogram["edges"][0] == 0.0 and histogram["edges"][-1] == 60.0 and histogram["min"] == 12
    assert sum(histogram["all"]) == 3 and histogram["missing_all"] == 1 and sum(histogram["survivors"]) == 1
    rejected = {row["id"]: row["reasons"] for row in page(engine, WITH_TED, "rejected", 0, 10)}
    assert rejected[same_shape] == rejected[one_below] == ["ted_low"]
    assert rejected[unparsed] == ["ted_missing"]


def test_stats_and_export_carry_ted(engine, tmp_path):
    add_scored(engine, ted=20.0)
    report = stats_report(engine, WITH_TED)
    assert "scored ted" in report and "min ted" in report
    out = tmp_path / "pairs.jsonl"
    export_jsonl(engine, out, recipe=WITH_TED)
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["scores"]["ted"] == 20.0 and record["recipe"]["min"]["ted"] == 12.0


def test_curate_controls_round_trip_the_ted_threshold():
    values = controls_from_recipe(WITH_TED)
    assert recipe_from_controls(values) == WITH_TED
    off = controls_from_recipe(Recipe.default("paraphrase", "nli"))
    assert recipe_from_controls(off) == Recipe.default("paraphrase", "nli")
    assert TED_MIN in off  # the slider waits at the suggested threshold while the check is off
