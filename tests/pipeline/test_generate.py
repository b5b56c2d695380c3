"""The first-sentence decoder: stopping, bans, sampling warpers and per-context reproducibility."""

from __future__ import annotations

import pytest
import torch

from models.teacher import load_teacher
from pipeline.generate import SamplingSettings, _sample_tokens, generate_first_sentences, sample_continuations
from tests.pipeline.scripted_teacher import SENTENCES, build_scripted_teacher

CONTEXTS = ["A storm hit the coast on Monday.", "Rain fell all night."]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    return load_teacher(str(build_scripted_teacher(tmp_path_factory.mktemp("scripted"))), "cpu")


@pytest.fixture(scope="module")
def tiny(tiny_teacher):
    return load_teacher(str(tiny_teacher), "cpu")


def test_each_sample_stops_at_its_first_sentence_end(scripted):
    results = generate_first_sentences(scripted, CONTEXTS, 8, SamplingSettings(max_new_tokens=40), [0, 1])
    assert [len(r) for r in results] == [8, 8]
    for per_context in results:
        assert [s.sample_index for s in per_context] == list(range(8))
        for sample in per_context:
            assert sample.stop == "sentence"
            assert sample.new_tokens == 5  # " The sky is blue ." and not one token more
            assert sample.sentence in SENTENCES


def test_newlines_are_banned(scripted):
    """After " is" the scripted model prefers a newline; the ban leaves only the scripted colours."""
    results = generate_first_sentences(scripted, CONTEXTS, 16, SamplingSettings(), [3, 4])
    texts = [s.text for r in results for s in r]
    assert all("\n" not in t for t in texts)
    assert {s.sentence for r in results for s in r} <= SENTENCES


def test_same_seed_same_samples_and_seeds_belong_to_contexts(scripted):
    settings = SamplingSettings()
    both = generate_first_sentences(scripted, CONTEXTS, 12, settings, [7, 8])
    again = generate_first_sentences(scripted, CONTEXTS, 12, settings, [7, 8])
    alone = generate_first_sentences(scripted, CONTEXTS[1:], 12, settings, [8])
    other_seed = generate_first_sentences(scripted, CONTEXTS[1:], 12, settings, [9])
    texts = [[s.text for s in r] for r in both]
    assert texts == [[s.text for s in r] for r in again]
    assert texts[1] == [s.text for s in alone[0]]  # batch company does not change a context's samples
    assert texts[1] != [s.text for s in other_seed[0]]


def test_no_repeated_ngram_over_context_and_sample(tiny):
    settings = SamplingSettings(temperature=2.0, top_k=3, no_repeat_ngram_size=2, max_new_tokens=25)
    results = sample_continuations(tiny, CONTEXTS, 4, settings, [0, 1], stop_after_sentences=None)
    for context, per_context in zip(CONTEXTS, results, strict=True):
        context_ids = tiny.tokenizer(context)["input_ids"]
        for sample in per_context:
            tokens = context_ids + sample.token_ids
            bigrams = list(zip(tokens, tokens[1:], strict=False))
            assert len(bigrams) == len(set(bigrams))


def test_rows_without_a_sentence_end_stop_at_max_new_tokens(tiny):
    results = sample_continuations(
        tiny, CONTEXTS, 3, SamplingSettings(max_new_tokens=7), [0, 1], stop_after_sentences=None
    )
    for sample in (s for r in results for s in r):
        assert sample.stop in ("length", "eos")
        assert sample.new_tokens <= 7
        assert sample.stop == "eos" or sample.new_tokens == 7


def test_top_k_and_top_p_limit_the_candidates():
    logits = torch.log(torch.tensor([[0.05, 0.6, 0.3, 0.05]])).repeat(2000, 1)
    uniforms = torch.rand(2000, generator=torch.Generator().manual_seed(0))
    top_p = _sample_tokens(logits, SamplingSettings(temperature=1.0, top_p=0.5, top_k=None), uniforms)
    assert set(top_p.tolist()) == {1}
    top_k = _sample_tokens(logits, SamplingSettings(temperature=1.0, top_p=1.0, top_k=2), uniforms)
    assert set(top_k.tolist()) == {1, 2}
    share = (top_k == 1).float().mean().item()
    assert abs(share - 0.6 / 0.9) < 0.05  # renormalised over the two kept tokens


def test_low_temperature_sharpens():
    logits = torch.log(torch.tensor([[0.6, 0.4]])).repeat(4000, 1)
    uniforms = torch.rand(4000, generator=torch.Generator().manual_seed(1))
    cold = _sample_tokens(logits, SamplingSettings(temperature=0.5, top_p=1.0, top_k=None), uniforms)
    expected = 0.36 / (0.36 + 0.16)  # p^(1/T) renormalised
    assert abs((cold == 0).float().mean().item() - expected) < 0.04


def test_settings_are_recordable():
    assert SamplingSettings().as_dict() == {
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 50,
        "no_repeat_ngram_size": 3,
        "max_new_tokens": 60,
    }


@pytest.mark.real_models
def test_embedded_teacher_writes_real_first_sentences():
    pytest.importorskip("gguf")
    from models.loading import ModelLoadError

    try:
        teacher = load_teacher("embedded", "cpu")
    except ModelLoadError as exc:
        pytest.skip(str(exc))
    context = (
        "CAIRO, Egypt (AP) -- Egypt's president said on Monday that the country will hold parliamentary "
        "elections early next year. The announcement came after weeks of protests in the capital."
    )
    (samples,) = generate_first_sentences(teacher, [context], 4, SamplingSettings(), [0])
    sentences = [s.sentence for s in samples if s.sentence]
    assert len(sentences) >= 2
    for sentence in sentences:
        assert sentence[-1] in ".?!\"'" and len(sentence.split()) >= 3


def test_unknown_hub_id_offline_is_one_clear_sentence(monkeypatch):
    from models.loading import ModelLoadError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="Cannot load teacher 'no-such-org/no-such-model'") as caught:
        load_teacher("no-such-org/no-such-model", "cpu")
    assert "\n" not in str(caught.value)


def test_a_context_longer_than_the_model_window_keeps_its_end(tiny):
    long_context = "word " * 2000 + "The end."
    settings = SamplingSettings(max_new_tokens=5)
    (samples,) = sample_continuations(tiny, [long_context], 2, settings, [0], stop_after_sentences=None)
    assert [s.new_tokens <= 5 for s in samples] == [True, True]
