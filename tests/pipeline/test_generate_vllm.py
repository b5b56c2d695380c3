"""The vLLM backend without vllm: the recipe's mapping onto SamplingParams and the first-sentence rule
on what an engine returns (a scripted stand-in for ``vllm.LLM``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.generate import SamplingSettings
from pipeline.generate_vllm import (
    STOP_STRINGS,
    VllmTeacher,
    sample_continuations_vllm,
    sampling_kwargs,
    sentence_from_output,
)
from tests.tiny_models import gpt2_tokenizer


@dataclass
class Completion:
    text: str
    finish_reason: str  # stop | length
    stop_reason: str | None = None
    token_ids: tuple[int, ...] = (1, 2)


@dataclass
class Output:
    outputs: list[Completion]


@dataclass
class FakeParams:
    kwargs: dict

    def __init__(self, **kwargs):
        self.kwargs = kwargs


@dataclass
class FakeLLM:
    """Answers each request from a script: a list of completions per call, in request order."""

    script: list[list[list[Completion]]]
    calls: list = field(default_factory=list)

    def generate(self, prompts, params, use_tqdm=False):
        self.calls.append((prompts, [p.kwargs for p in params]))
        return [Output(c) for c in self.script[len(self.calls) - 1]]


def test_the_recipe_maps_onto_sampling_params():
    kwargs = sampling_kwargs(SamplingSettings(), n=32, seed=7, newline_ids=(198, 628))
    assert kwargs == {
        "n": 32,
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 50,
        "seed": 7,
        "max_tokens": 60,
        "stop": list(STOP_STRINGS),
        "include_stop_str_in_output": True,
        "logit_bias": {198: -100.0, 628: -100.0},
    }
    assert sampling_kwargs(SamplingSettings(top_k=None), 2, 0, ())["top_k"] == -1  # vLLM's "off"


def test_a_stop_string_after_an_abbreviation_is_not_a_sentence_end():
    assert sentence_from_output("He met Mr. ", stopped_by_string=True) is None
    assert sentence_from_output("It rained. ", stopped_by_string=True) == "It rained."
    assert sentence_from_output("It rained all day", stopped_by_string=False) is None


def test_samples_get_the_same_first_sentence_rule_and_abbreviations_are_continued():
    first = [
        Completion("It rained. ", "stop", ". "),
        Completion("He met Mr. ", "stop", ". "),
        Completion("It snowed.", "stop", None),  # EOS
        Completion("No end in sight", "length"),
    ]
    llm = FakeLLM([[first], [[Completion("Smith today. ", "stop", ". ", (3,))]]])
    teacher = VllmTeacher(llm, gpt2_tokenizer(), "fake", "auto", FakeParams)
    (samples,) = sample_continuations_vllm(teacher, ["The news."], 4, SamplingSettings(), [5])
    assert [s.sentence for s in samples] == ["It rained.", "He met Mr. Smith today.", "It snowed.", None]
    assert [s.stop for s in samples] == ["sentence", "sentence", "eos", "length"]
    assert [s.sample_index for s in samples] == [0, 1, 2, 3]
    (prompts, params), (more_prompts, more_params) = llm.calls
    assert params[0]["n"] == 4 and params[0]["seed"] == 5
    context = gpt2_tokenizer()("The news.")["input_ids"]
    assert more_prompts == [{"prompt_token_ids": context + [1, 2]}]  # context + the text so far
    assert more_params[0]["n"] == 1 and more_params[0]["max_tokens"] == 58
