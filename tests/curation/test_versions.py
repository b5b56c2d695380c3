"""Versions freeze membership; duplicates are refused; diffs count added and removed pairs."""

from __future__ import annotations

import pytest

from curation.recipe import Recipe
from curation.review import set_label
from curation.versions import (
    VersionError,
    diff_versions,
    get_version,
    list_versions,
    save_version,
    version_ids,
)
from tests.curation.helpers import add_scored, set_scores

NLI = Recipe.default("paraphrase", "nli")


def test_version_freezes_membership_against_later_changes(engine):
    a, b = add_scored(engine), add_scored(engine, rouge_l=0.78)
    set_label(engine, b, "accept")
    saved = save_version(engine, "v1", NLI)
    assert saved["pair_count"] == 2 and saved["recipe_hash"] == NLI.hash
    assert Recipe.from_dict(saved["recipe"]) == NLI
    set_label(engine, a, "reject")
    set_scores(engine, b, rouge_l=0.99)
    add_scored(engine)
    assert version_ids(engine, "v1").tolist() == [a, b]
    assert get_version(engine, saved["id"])["name"] == "v1"


def test_duplicate_and_empty_names_are_clear_errors(engine):
    save_version(engine, "v1", NLI)
    with pytest.raises(VersionError, match="already exists"):
        save_version(engine, "v1", NLI)
    with pytest.raises(VersionError, match="needs a name"):
        save_version(engine, "  ", NLI)
    with pytest.raises(VersionError, match="No version named 'nope'"):
        get_version(engine, "nope")
    assert [v["name"] for v in list_versions(engine)] == ["v1"]


def test_diff_counts_added_and_removed(engine):
    keep = add_scored(engine)
    borderline = add_scored(engine, rouge_l=0.72)
    loose_only = add_scored(engine, rouge_l=0.79)
    save_version(engine, "strict", NLI.with_threshold("max", "rouge_l", 0.7))
    save_version(engine, "loose", NLI.with_threshold("max", "rouge_l", 0.8))
    diff = diff_versions(engine, "strict", "loose")
    assert (diff["added"], diff["removed"], diff["common"]) == (2, 0, 1)
    assert [r["id"] for r in diff["added_sample"]] == [borderline, loose_only]
    assert diff["recipe_changes"] == ["max rouge_l: 0.7 -> 0.8"]
    back = diff_versions(engine, "loose", "strict")
    assert (back["added"], back["removed"]) == (0, 2) and keep not in [
        r["id"] for r in back["removed_sample"]
    ]


def test_save_diff_and_export_on_every_backend(any_engine, tmp_path):
    """Versions (INSERT ... SELECT) and export run on PostgreSQL too when IMPOSSIBLE_TEST_PG_URL is set."""
    from curation.export import export_jsonl, import_jsonl

    add_scored(any_engine)
    add_scored(any_engine, rouge_l=0.78)
    save_version(any_engine, "strict", NLI)
    save_version(any_engine, "loose", NLI.with_threshold("max", "rouge_l", 0.8))
    assert diff_versions(any_engine, "strict", "loose")["added"] == 1
    out = tmp_path / "loose.jsonl"
    assert export_jsonl(any_engine, out, version="loose") == 2
    assert import_jsonl(any_engine, out)["duplicates"] == 2
