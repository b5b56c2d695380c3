"""Metrics agree with sacrebleu / rouge-score on known inputs; iBLEU of copy-input equals its formula."""

from __future__ import annotations

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from models import metrics

SOURCES = ["The cat sat on the mat today.", "Prices rose by five percent last year."]
REFERENCES = ["A cat was sitting on the mat today.", "Last year prices went up five percent."]
OUTPUTS = ["The cat was on the mat today.", "Prices went up by five percent last year."]


def test_bleu_is_sacrebleu_corpus_bleu():
    expected = sacrebleu.corpus_bleu(OUTPUTS, [REFERENCES]).score
    assert metrics.bleu(OUTPUTS, REFERENCES) == pytest.approx(expected)
    assert metrics.bleu(SOURCES, SOURCES) == pytest.approx(100.0)


@pytest.mark.parametrize("alpha", [0.7, 0.8, 1.0])
def test_ibleu_of_copy_input_equals_its_formula(alpha):
    copy = metrics.ibleu(SOURCES, REFERENCES, SOURCES, alpha)
    assert copy == pytest.approx(alpha * metrics.bleu(SOURCES, REFERENCES) - (1 - alpha) * 100)


def test_paper_copy_input_row_is_reproduced_by_alpha_07():
    assert pytest.approx(1.08) == 0.7 * 44.4 - 0.3 * 100  # the paper reports 1.1


def test_ibleu_rejects_alpha_outside_unit_interval():
    with pytest.raises(ValueError, match="alpha must lie in"):
        metrics.ibleu(OUTPUTS, REFERENCES, SOURCES, alpha=1.5)


def test_rouge_is_rouge_score_f1_without_stemming():
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
    expected = [scorer.score(r, o) for o, r in zip(OUTPUTS, REFERENCES, strict=True)]
    got = metrics.rouge(OUTPUTS, REFERENCES)
    for name in ("rouge1", "rouge2", "rougeL"):
        assert got[name] == pytest.approx(100 * sum(e[name].fmeasure for e in expected) / 2)


def test_self_bleu_is_high_for_identical_samples_and_low_for_different_ones():
    same = metrics.self_bleu([["the cat sat on the mat", "the cat sat on the mat"]])
    different = metrics.self_bleu([["the cat sat on the mat", "prices rose five percent last year"]])
    assert same == pytest.approx(100.0) and different < 10
    with pytest.raises(ValueError, match="at least two samples"):
        metrics.self_bleu([["only one"]])


def test_bert_ibleu_is_a_weighted_harmonic_mean():
    assert metrics.weighted_harmonic_mean(0.9, 0.5, beta=1) == pytest.approx(2 * 0.9 * 0.5 / 1.4)
    assert metrics.weighted_harmonic_mean(0.9, 0.0) == 0.0
    (copy,) = metrics.bert_ibleu_per_example([1.0], ["same sentence here"], ["same sentence here"])
    assert copy == 0.0  # BLEU to the source is 100: a copy has no dissimilarity


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        metrics.bleu(OUTPUTS, REFERENCES[:1])


def test_score_system_reports_per_example_rows():
    corpus, rows = metrics.score_system(OUTPUTS, REFERENCES, SOURCES)
    assert corpus["ibleu"] == pytest.approx(0.7 * corpus["bleu"] - 0.3 * corpus["bleu_to_source"])
    assert len(rows) == 2 and set(rows[0]) == {"bleu", "bleu_to_source", "rouge1", "rouge2", "rougeL"}


@pytest.mark.real_models
def test_bertscore_style_f1_with_the_embedded_encoder():
    embedder = metrics.TokenEmbedder.load("embedded")
    same, paraphrase, unrelated = embedder.bertscore(
        [SOURCES[0], REFERENCES[0], "Stock markets closed higher."], [SOURCES[0]] * 3
    )
    assert same == pytest.approx(1.0, abs=1e-4) and same > paraphrase > unrelated
