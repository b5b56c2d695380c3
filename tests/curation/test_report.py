"""The dataset report against values computed by hand on a tiny corpus, and its storage per version."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import update

from curation.recipe import Recipe
from curation.report import (
    DIMPLE,
    dataset_report,
    msttr,
    ngram_entropy,
    report_table,
    self_bleu,
    version_report,
)
from curation.versions import save_version
from db.schema import pairs
from tests.curation.helpers import add_scored

SOURCES = ["The cat sat.", "A dog ran fast."]
TARGETS = ["The cat sat down.", "The dog ran."]


def test_report_metrics_match_hand_computed_values():
    report = dataset_report(SOURCES, TARGETS, [0.9, None])
    assert (report["pairs"], report["source_len"], report["target_len"]) == (2, 3.5, 3.5)
    assert (report["cossim"], report["cossim_pairs"]) == (90.0, 1)
    # pair 1: {the cat sat} / {the cat sat down} = 3/4; pair 2: {dog ran} / {a dog ran fast the} = 2/5
    assert report["jaccard"] == pytest.approx(100 * (0.75 + 0.4) / 2)
    # 10 bigrams over the four sentences: three seen twice, four once
    assert report["h2"] == pytest.approx(-(3 * 0.2 * math.log2(0.2) + 4 * 0.1 * math.log2(0.1)))
    assert report["h3"] == pytest.approx(math.log2(6) - 2 / 6)  # 6 trigrams, "the cat sat" twice


def test_msttr_and_self_bleu_by_hand():
    assert msttr([["a", "a", "b", "b"]], segment=2) == 50.0  # two windows of 1 type / 2 tokens
    assert msttr([["a", "b", "c"]], segment=2) == 100.0  # the partial last window is left out
    assert math.isnan(msttr([["a"]], segment=2))
    assert self_bleu(["the cat sat on the mat today"] * 3) == pytest.approx(100.0)
    assert self_bleu(["the cat sat on the mat", "stocks fell sharply in early trading"]) < 10
    assert ngram_entropy([["one", "two"]], 2) == 0.0


def test_version_report_is_stored_once_and_shown_beside_dimple(engine):
    for cosine in (0.9, 0.8):
        add_scored(engine, embed_cosine=cosine)
    save_version(engine, "v1", Recipe("paraphrase", {}, {}, dedup=False))
    first = version_report(engine, "v1")
    assert (first["version"], first["pairs"], first["cossim"]) == ("v1", 2, pytest.approx(85.0))
    with engine.begin() as conn:
        conn.execute(update(pairs).values(embed_cosine=0.1))
    assert version_report(engine, "v1") == first  # stored: not recomputed
    assert version_report(engine, "v1", refresh=True)["cossim"] == pytest.approx(10.0)
    table = report_table([first])
    assert "DIMPLE (paper)" in table and f"{DIMPLE['cossim']:.2f}" in table and "4,200,000" in table
    with pytest.raises(ValueError):
        version_report(engine, "nope")
