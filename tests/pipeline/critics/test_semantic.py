"""The model-backed critics on batches: unique-text embedding, one NLI call for both directions, and the
rejection reasons their scores produce."""

import numpy as np
import pytest

from curation.recipe import Recipe
from pipeline.critics.semantic import embedding_cosine, nli_scores


class FakeEmbedder:
    """Maps each text to a fixed unit vector: texts sharing a first word point the same way."""

    name = "fake-embedder"

    def __init__(self):
        self.encoded: list[str] = []

    def encode(self, texts, batch_size=128):
        self.encoded.extend(texts)
        vectors = []
        for text in texts:
            seed = sum(map(ord, text.split()[0].lower()))
            vectors.append(np.random.default_rng(seed).normal(size=16))
        vectors = np.asarray(vectors, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class FakeNli:
    """p(premise => hypothesis) = 0.9 when the hypothesis is no longer than the premise, else 0.2."""

    name = "fake-nli"

    def __init__(self):
        self.calls: list[tuple[list[str], list[str]]] = []

    def entailment(self, premises, hypotheses, batch_size=64):
        self.calls.append((list(premises), list(hypotheses)))
        return np.array(
            [0.9 if len(h) <= len(p) else 0.2 for p, h in zip(premises, hypotheses, strict=True)], np.float32
        )


def semantic_reasons(scores: dict, semantic: str, task: str = "paraphrase") -> list[str]:
    """The default recipe's verdict on the semantic scores alone."""
    default = Recipe.default(task, semantic)
    columns = {"embed_cosine", "nli_forward", "nli_backward"}
    recipe = Recipe(
        task,
        {c: v for c, v in default.min.items() if c in columns},
        {c: v for c, v in default.max.items() if c in columns},
    )
    return recipe.reasons(scores)


def test_each_distinct_text_is_embedded_once():
    sentences = [f"Sentence{i} says something." for i in range(6)]
    sources = [a for i, a in enumerate(sentences) for b in sentences[i + 1 :]]
    targets = [b for i, a in enumerate(sentences) for b in sentences[i + 1 :]]
    embedder = FakeEmbedder()
    cosine = embedding_cosine(embedder, sources, targets)
    assert len(sources) == 15 and sorted(embedder.encoded) == sorted(sentences)
    vectors = FakeEmbedder().encode(sources), FakeEmbedder().encode(targets)
    assert np.allclose(cosine, (vectors[0] * vectors[1]).sum(axis=1), atol=1e-6)


def test_similar_pair_passes_and_unrelated_pair_is_embed_cosine_low():
    cosine = embedding_cosine(
        FakeEmbedder(),
        ["Storms hit the coast.", "Storms hit the coast."],
        ["storms batter the coast.", "Markets fell."],
    )
    assert semantic_reasons({"embed_cosine": float(cosine[0])}, "embedding") == []
    assert semantic_reasons({"embed_cosine": float(cosine[1])}, "embedding") == ["embed_cosine_low"]


def test_both_directions_go_through_one_batched_call():
    nli = FakeNli()
    forward, backward = nli_scores(nli, ["a b c", "d e"], ["x y", "z"], [True, True], [True, True])
    assert len(nli.calls) == 1
    assert nli.calls[0] == (["a b c", "d e", "x y", "z"], ["x y", "z", "a b c", "d e"])
    assert forward.tolist() == pytest.approx([0.9, 0.9]) and backward.tolist() == pytest.approx([0.2, 0.2])


def test_only_missing_directions_are_asked_for():
    nli = FakeNli()
    forward, backward = nli_scores(nli, ["a b c", "d e"], ["x y", "z"], [True, False], [False, True])
    assert nli.calls[0] == (["a b c", "z"], ["x y", "d e"])
    assert forward[0] == pytest.approx(0.9) and np.isnan(forward[1])
    assert np.isnan(backward[0]) and backward[1] == pytest.approx(0.2)


def scored(source: str, target: str) -> dict:
    forward, backward = nli_scores(FakeNli(), [source], [target], [True], [True])
    return {"nli_forward": float(forward[0]), "nli_backward": float(backward[0])}


def test_mutual_entailment_passes():
    assert semantic_reasons(scored("Same length here.", "Same length here!"), "nli") == []


def test_target_that_adds_information_is_nli_forward_low():
    reasons = semantic_reasons(scored("Rain fell.", "Heavy rain fell all day."), "nli")
    assert reasons == ["nli_forward_low"]


def test_target_that_drops_information_is_nli_backward_low_for_paraphrase_but_fine_for_summary():
    scores = scored("Heavy rain fell all day.", "Rain fell.")
    assert semantic_reasons(scores, "nli") == ["nli_backward_low"]
    assert semantic_reasons(scores, "nli", "summary") == []
