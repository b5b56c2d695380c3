"""Candidate generation on vLLM (GPU only, the optional ``vllm`` extra).

One request per context with ``SamplingParams(n=k, temperature, top_p, top_k, seed, max_tokens, stop)``;
prefix caching shares the context's KV cache across its k samples. Newline tokens get a ``logit_bias`` of
-100 (banned). Stop strings are the sentence terminals followed by a space (``". "``, ``"? "``, ``"! "``),
kept in the output; what comes back goes through the same first-sentence rule as every backend:

- a sample stopped by a stop string keeps its first *certainly* complete sentence
  (``completed_sentences``); one that stopped at an abbreviation or number ("U.S. ", "3. ") has none yet
  and is continued, prompt = context + its text so far, until it has one or reaches ``max_tokens``;
- a sample that ended (EOS or length) keeps ``first_sentence`` of its text, as the torch decoder does.

vLLM has no n-gram ban (its per-request logits processors are gone in V1): ``no_repeat_ngram_size`` is
not applied on this backend, and the sentence's provenance says so (``ngram_ban: false``).
Seeds: each request carries its own seed (the context's seed; a continuation adds its round), so a
resumed job regenerates the same sentences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline.generate import Sample, SamplingSettings
from pipeline.sentences import completed_sentences, first_sentence
from pipeline.stopping import token_classes

STOP_STRINGS = (". ", "? ", "! ", '." ', '?" ', '!" ')
BANNED_BIAS = -100.0
MAX_ROUNDS = 4


@dataclass(frozen=True)
class VllmTeacher:
    llm: Any  # vllm.LLM
    tokenizer: Any
    name: str
    dtype: str
    sampling_params_cls: Any  # vllm.SamplingParams (a stand-in in tests)


def load_vllm_teacher(spec: str) -> VllmTeacher:
    """The teacher in a vLLM engine with prefix caching (GGUF files through their dequantized copy)."""
    from vllm import LLM, SamplingParams

    from models.loading import resolve
    from models.teacher import checkpoint_dir, teacher_name

    model = resolve("teacher", spec)
    source = checkpoint_dir(model)
    llm = LLM(model=source, enable_prefix_caching=True, dtype="auto", seed=0)
    return VllmTeacher(llm, llm.get_tokenizer(), teacher_name(model), "auto", SamplingParams)


def sampling_kwargs(
    settings: SamplingSettings, n: int, seed: int, newline_ids: tuple[int, ...], max_tokens: int | None = None
) -> dict[str, Any]:
    """The recipe as ``SamplingParams`` keyword arguments."""
    return {
        "n": n,
        "temperature": float(settings.temperature),
        "top_p": float(settings.top_p),
        "top_k": int(settings.top_k) if settings.top_k else -1,  # -1: off
        "seed": int(seed),
        "max_tokens": int(max_tokens if max_tokens is not None else settings.max_new_tokens),
        "stop": list(STOP_STRINGS),
        "include_stop_str_in_output": True,
        "logit_bias": dict.fromkeys(newline_ids, BANNED_BIAS),
    }


def sentence_from_output(text: str, stopped_by_string: bool) -> str | None:
    """The first-sentence rule on what vLLM returned (None: no sentence yet, or none at all)."""
    if stopped_by_string:
        done = completed_sentences(text)
        return done[0] if done else None
    return first_sentence(text)


@dataclass
class _Row:
    prompt_index: int
    sample_index: int
    prompt_ids: list[int]
    text: str = ""
    token_ids: tuple[int, ...] = ()
    stop: str = "length"


def _absorb(row: _Row, completion: Any) -> bool:
    """Add one completion to ``row``; True when the row still needs a continuation."""
    row.text += completion.text
    row.token_ids += tuple(completion.token_ids)
    by_string = completion.finish_reason == "stop" and completion.stop_reason in STOP_STRINGS
    if by_string:
        if sentence_from_output(row.text, True) is not None:
            row.stop = "sentence"
            return False
        return True
    row.stop = "eos" if completion.finish_reason == "stop" else "length"
    return False


def sample_continuations_vllm(
    teacher: VllmTeacher,
    prompts: list[str],
    samples: int,
    settings: SamplingSettings,
    seeds: list[int],
    *,
    stop_after_sentences: int | None = 1,
    on_progress: Callable[[int], None] | None = None,
) -> list[list[Sample]]:
    """k continuations per prompt; ``stop_after_sentences`` other than 1 decodes to EOS or the cap.
    ``on_progress`` gets the number of finished samples once the engine returns (it decodes all at once)."""
    tokenizer = teacher.tokenizer
    newline_ids = token_classes(tokenizer).newline_ids
    encoded = [tokenizer(p)["input_ids"] for p in prompts]
    rows = [_Row(i, s, ids) for i, ids in enumerate(encoded) for s in range(samples)]
    requests = [({"prompt_token_ids": ids}, sampling_kwargs(settings, samples, seeds[i], newline_ids))
                for i, ids in enumerate(encoded)]  # fmt: skip
    if stop_after_sentences != 1:
        for _, kwargs in requests:
            kwargs.pop("stop"), kwargs.pop("include_stop_str_in_output")
    outputs = _generate(teacher, requests)
    pending = []
    for i, output in enumerate(outputs):
        for s, completion in enumerate(output.outputs):
            if _absorb(rows[i * samples + s], completion):
                pending.append(rows[i * samples + s])
    for round_ in range(1, MAX_ROUNDS):
        pending = [r for r in pending if len(r.token_ids) < settings.max_new_tokens]
        if not pending:
            break
        requests = [({"prompt_token_ids": r.prompt_ids + list(r.token_ids)},
                     sampling_kwargs(settings, 1, seeds[r.prompt_index] * 1000 + r.sample_index * 10 + round_,
                                     newline_ids, settings.max_new_tokens - len(r.token_ids)))
                    for r in pending]  # fmt: skip
        outputs = _generate(teacher, requests)
        pending = [r for r, out in zip(pending, outputs, strict=True) if _absorb(r, out.outputs[0])]
    results: list[list[Sample]] = [[] for _ in prompts]
    for r in rows:
        text = " ".join(r.text.split())
        results[r.prompt_index].append(
            Sample(r.prompt_index, r.sample_index, text, list(r.token_ids), r.stop)
        )
    if on_progress is not None:
        on_progress(len(rows))
    return results


def _generate(teacher: VllmTeacher, requests: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[Any]:
    params = [teacher.sampling_params_cls(**kwargs) for _, kwargs in requests]
    return teacher.llm.generate([prompt for prompt, _ in requests], params, use_tqdm=False)
