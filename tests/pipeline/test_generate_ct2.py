"""The ctranslate2 backend on a scripted tiny Llama converted in the test: first-sentence stop, newline
ban, n-gram ban over the context, seeds; and choosing a backend (errors, auto's fallback)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models.ct2 import load_ct2_teacher, parallel_engines
from models.loading import ModelLoadError
from pipeline import backends
from pipeline.backends import load_decoder
from pipeline.generate import SamplingSettings
from pipeline.generate_ct2 import sample_continuations_ct2
from pipeline.sentences import completed_sentences
from tests.pipeline.scripted_teacher import SENTENCES, build_scripted_llama
from tests.tiny_models import build_tiny_gpt_neo

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CONTEXTS = ["Report one arrived on Monday.", "A storm hit the coast on Friday."]
SCRIPTED = "The sky is blue. The sea is calm."  # the script's own 3-grams: the ban must steer away


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    return str(build_scripted_llama(tmp_path_factory.mktemp("scripted_llama")))


@pytest.fixture(scope="module")
def llama(llama_dir):
    return load_ct2_teacher(llama_dir, "cpu")


def test_each_row_stops_at_its_first_sentence_and_newlines_are_banned(llama):
    results = sample_continuations_ct2(llama, CONTEXTS, 8, SamplingSettings(max_new_tokens=40), [0, 1])
    newline = set(llama.tokenizer.encode("\n"))
    for per_context in results:
        assert [s.sample_index for s in per_context] == list(range(8))
        for s in per_context:
            assert s.stop == "sentence" and s.sentence in SENTENCES
            assert s.text == s.sentence  # stopped right at the end: nothing decoded after it
            assert not newline & set(s.token_ids)  # the script prefers "\n" after " is"


def test_no_sample_repeats_an_ngram_of_its_context_or_of_itself(llama):
    settings = SamplingSettings(no_repeat_ngram_size=3, max_new_tokens=20)
    contexts = [CONTEXTS[0], SCRIPTED]
    results = sample_continuations_ct2(llama, contexts, 6, settings, [3, 4], stop_after_sentences=None)
    for context, per_context in zip(contexts, results, strict=True):
        c = llama.tokenizer(context)["input_ids"]
        context_grams = {tuple(c[i : i + 3]) for i in range(len(c) - 2)}
        for s in per_context:
            own = [tuple(s.token_ids[i : i + 3]) for i in range(len(s.token_ids) - 2)]
            assert len(own) == len(set(own))
            assert not context_grams & set(own)
    # without the ban the script repeats "The sky is" / "The sea is" from the second context at once
    free = sample_continuations_ct2(
        llama, [SCRIPTED], 6, SamplingSettings(no_repeat_ngram_size=0), [4], stop_after_sentences=None
    )
    assert any(completed_sentences(s.text)[0] in SCRIPTED for s in free[0])


def test_a_context_samples_the_same_sentences_for_the_same_seed_whatever_its_batch(llama):
    settings = SamplingSettings(max_new_tokens=40)
    both = sample_continuations_ct2(llama, CONTEXTS, 12, settings, [7, 8])
    again = sample_continuations_ct2(llama, CONTEXTS, 12, settings, [7, 8])
    alone = sample_continuations_ct2(llama, CONTEXTS[1:], 12, settings, [8])
    other = sample_continuations_ct2(llama, CONTEXTS[1:], 12, settings, [9])
    texts = [[s.text for s in per] for per in both]
    assert texts == [[s.text for s in per] for per in again]
    assert texts[1] == [s.text for s in alone[0]]
    assert texts[1] != [s.text for s in other[0]]
    assert len(set(texts[0])) > 1  # sampling, not greedy


def test_concurrent_engines_sample_what_one_engine_at_a_time_samples(llama):
    settings = SamplingSettings(max_new_tokens=40)
    contexts = CONTEXTS * 3
    seeds = [11, 12, 13, 14, 15, 16]
    one = dataclasses.replace(llama, threads=1, engines=1)
    two = dataclasses.replace(llama, threads=2, engines=2)  # two one-thread engines at once
    assert two.engine_threads == one.engine_threads == 1
    expected = [[s.text for s in per] for per in sample_continuations_ct2(one, contexts, 8, settings, seeds)]
    for _ in range(2):
        got = sample_continuations_ct2(two, contexts, 8, settings, seeds)
        assert [[s.text for s in per] for per in got] == expected
    assert expected[0] != expected[2]  # same context, another seed: the seeds did reach their engines


def test_a_failing_progress_report_starts_no_further_context(llama):
    started = []
    teacher = dataclasses.replace(llama, threads=2, engines=2)

    def stop(finished: int) -> None:
        started.append(finished)
        raise KeyboardInterrupt  # Ctrl-C in the CLI, or a progress write that fails

    with pytest.raises(KeyboardInterrupt):
        sample_continuations_ct2(
            teacher, CONTEXTS * 4, 4, SamplingSettings(), list(range(8)), on_progress=stop
        )
    assert started == [4]


def test_engines_run_one_per_cpu_thread_as_far_as_memory_allows():
    cpu, gpu, gib = torch.device("cpu"), torch.device("cuda"), 2**30
    assert parallel_engines(cpu, 2, gib // 8, 24 * gib) == 2  # the embedded teacher on this machine
    assert parallel_engines(cpu, 16, 2 * gib, 24 * gib) == 3  # a 1.7B teacher: a quarter of memory
    assert parallel_engines(cpu, 16, 32 * gib, 24 * gib) == 1
    assert parallel_engines(cpu, 4, gib, 0) == 1  # memory unknown
    assert parallel_engines(gpu, 16, gib, 24 * gib) == 1


def test_the_ctranslate2_decoder_records_its_backend(llama_dir):
    decoder = load_decoder(llama_dir, "cpu", "ctranslate2")
    assert decoder.provenance == {"backend": "ctranslate2", "quantization": "int8"}
    (samples,) = decoder.sample(CONTEXTS[:1], 3, SamplingSettings(), [0])
    assert all(s.sentence in SENTENCES for s in samples)


def test_an_unsupported_architecture_is_one_sentence_and_auto_falls_back_to_torch(tmp_path):
    neo = str(build_tiny_gpt_neo(tmp_path / "neo"))
    with pytest.raises(ModelLoadError) as err:
        load_decoder(neo, "cpu", "ctranslate2")
    message = str(err.value)
    assert "GPTNeoConfig" in message and "--backend torch" in message and "\n" not in message
    lines: list[str] = []
    decoder = load_decoder(neo, "cpu", "auto", log=lines.append)
    assert decoder.backend == "torch" and decoder.provenance == {"backend": "torch"}
    assert len(lines) == 1 and "using torch because" in lines[0] and "GPTNeoConfig" in lines[0]


def test_a_backend_that_is_not_installed_is_one_sentence(llama_dir, monkeypatch):
    monkeypatch.setattr(backends, "installed", lambda name: name == "torch")
    for name in ("ctranslate2", "vllm"):
        with pytest.raises(ModelLoadError, match=f"The {name} backend is not installed"):
            load_decoder(llama_dir, "cpu", name)
    lines: list[str] = []
    assert load_decoder(llama_dir, "cpu", "auto", log=lines.append).backend == "torch"
    assert lines == ["backend auto: using torch because ctranslate2 is not installed"]
    with pytest.raises(ModelLoadError, match="Unknown backend 'llamacpp'"):
        load_decoder(llama_dir, "cpu", "llamacpp")


@pytest.mark.real_models
def test_the_embedded_teacher_on_ctranslate2_writes_complete_first_sentences():
    try:
        decoder = load_decoder("embedded", "cpu", "ctranslate2")  # GGUF -> dequantized copy -> int8
    except ModelLoadError as exc:
        pytest.skip(str(exc))
    context = "LONDON, England (AP) -- The British government announced a new plan to build more homes."
    (samples,) = decoder.sample([context], 6, SamplingSettings(), [0])
    sentences = [s.sentence for s in samples if s.sentence]
    assert len(sentences) >= 5 and all(s.stop == "sentence" for s in samples if s.sentence)
    assert all("\n" not in s and s[-1] in ".?!\"')" for s in sentences)
