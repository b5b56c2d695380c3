"""Candidate generation on CTranslate2: the recipe of ``pipeline.generate`` mapped onto ``generate_batch``.

- the context is forwarded once (``include_prompt_in_result=False``) and its state copied to its k rows
  (``num_hypotheses=k``);
- temperature, top-k then top-p (``sampling_temperature``, ``sampling_topk``, ``sampling_topp``);
- newline tokens are banned (single-token ``suppress_sequences``);
- repeated n-grams: CTranslate2's ``no_repeat_ngram_size`` sees the generated tokens only, not the
  context. Every n-gram of the context is therefore added to ``suppress_sequences`` too, which bans a
  sample from repeating the context's n-grams. What remains uncovered is an n-gram that *straddles* the
  context's end and the sample's start (e.g. the context's last two tokens plus the first sample token);
  ``benchmarks/bench_generate.py`` counts how often samples repeat a context 3-gram at all;
- each row stops at its first certainly complete sentence: the per-token ``callback`` returns True for
  that row (``pipeline.stopping``), and the row leaves the batch.

Seeds: the engine seeds each worker thread's generator once, on first use, from the process-wide
``set_random_seed``. Every context with an n-gram ban is decoded by a fresh engine (~0.1 s), so a
context's samples depend on its own seed only, as with the torch decoder (same machine, quantization and
thread count). Up to ``teacher.engines`` contexts decode at once, one engine each; ``_seeded`` holds the
process-wide seed for an engine until its first token is sampled, the moment its generator is seeded,
so concurrent engines never see each other's seed. Without an n-gram ban (context sampling) the prompts
are split into one run of consecutive prompts per engine, each run one call seeded with its first seed:
the same batch of prompts gives the same samples on the same machine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from models.ct2 import CT2Teacher
from pipeline.generate import MAX_CONTEXT_TOKENS, Sample, SamplingSettings
from pipeline.stopping import RowState, TokenClasses, step, token_classes


def _encode(teacher: CT2Teacher, prompt: str, max_context_tokens: int) -> list[int]:
    tokenizer = teacher.tokenizer
    fallback = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    return tokenizer(prompt)["input_ids"][-max_context_tokens:] or [fallback]


def context_ngrams(ids: list[int], n: int) -> list[tuple[int, ...]]:
    """Every distinct n-gram of ``ids``, in order of first appearance."""
    if n <= 0:
        return []
    return list(dict.fromkeys(tuple(ids[i : i + n]) for i in range(len(ids) - n + 1)))


def suppressed(
    teacher: CT2Teacher, classes: TokenClasses, context_ids: list[list[int]], n: int
) -> list[list[str]]:
    """``suppress_sequences`` for one call: newline tokens, plus every n-gram of the contexts."""
    to_tokens = teacher.tokenizer.convert_ids_to_tokens
    banned = [[to_tokens(i)] for i in classes.newline_ids]
    for ids in context_ids:
        banned += [list(to_tokens(list(gram))) for gram in context_ngrams(ids, n)]
    return banned


_SEED = threading.Lock()  # one process-wide seed: held by one engine at a time until it has used it


@contextmanager
def _seeded(seed: int) -> Iterator[Callable[[], None]]:
    """Set the engine seed and hold it until the yielded ``release`` is called (by the first token's
    callback) or the block ends, whichever comes first."""
    import ctranslate2

    _SEED.acquire()
    held = [True]
    guard = threading.Lock()

    def release() -> None:
        with guard:
            if held[0]:
                held[0] = False
                _SEED.release()

    try:
        ctranslate2.set_random_seed(int(seed))
        yield release
    finally:
        release()


def generation_options(settings: SamplingSettings, samples: int) -> dict[str, Any]:
    """The keyword arguments of ``Generator.generate_batch`` that carry the sampling recipe."""
    return {
        "num_hypotheses": samples,
        "sampling_temperature": float(settings.temperature),
        "sampling_topk": int(settings.top_k or 0),  # 0: the whole vocabulary
        "sampling_topp": float(settings.top_p),
        "no_repeat_ngram_size": int(settings.no_repeat_ngram_size),
        "max_length": int(settings.max_new_tokens),
        "include_prompt_in_result": False,
        "beam_size": 1,
    }


def _decode_call(
    teacher: CT2Teacher,
    classes: TokenClasses,
    indices: list[int],
    prompt_ids: list[list[int]],
    samples: int,
    settings: SamplingSettings,
    seed: int,
    stop_after: int | None,
) -> dict[int, list[Sample]]:
    """One ``generate_batch`` call for the prompts ``indices`` (positions in the caller's list)."""
    tokenizer = teacher.tokenizer
    rows = {(b, h): RowState() for b in range(len(indices)) for h in range(samples)}
    ids = [prompt_ids[i] for i in indices]
    banned = suppressed(teacher, classes, ids, settings.no_repeat_ngram_size) or None
    engine = teacher.generator()
    with _seeded(seed) as release:

        def on_token(result: Any) -> bool:
            release()  # a token was sampled: this engine's generator is seeded
            row = rows[(result.batch_id, result.hypothesis_id)]
            return step(row, result.token_id, tokenizer, classes, stop_after)

        engine.generate_batch(
            [tokenizer.convert_ids_to_tokens(x) for x in ids],
            suppress_sequences=banned,
            end_token=sorted(classes.eos_ids) or None,
            callback=on_token,
            **generation_options(settings, samples),
        )
    out: dict[int, list[Sample]] = {}
    for b, index in enumerate(indices):
        out[index] = []
        for h in range(samples):
            row = rows[(b, h)]
            text = " ".join(tokenizer.decode(row.tokens, skip_special_tokens=True).split())
            out[index].append(Sample(index, h, text, row.tokens, row.stop))
    return out


def sample_continuations_ct2(
    teacher: CT2Teacher,
    prompts: list[str],
    samples: int,
    settings: SamplingSettings,
    seeds: list[int],
    *,
    stop_after_sentences: int | None = 1,
    max_context_tokens: int = MAX_CONTEXT_TOKENS,
    on_progress: Callable[[int], None] | None = None,
) -> list[list[Sample]]:
    """``samples`` continuations of every prompt (one list per prompt), as ``sample_continuations``;
    ``on_progress`` gets the number of finished samples after each engine call (one per context)."""
    if not prompts:
        return []
    if teacher.max_positions:  # keep the end of a long context, leaving room for the sample
        max_context_tokens = max(1, min(max_context_tokens, teacher.max_positions - settings.max_new_tokens))
    classes = token_classes(teacher.tokenizer, teacher.eos_ids)
    prompt_ids = [_encode(teacher, p, max_context_tokens) for p in prompts]
    if settings.no_repeat_ngram_size > 0:  # a context's n-gram ban must not reach another context's rows
        calls = [([i], seeds[i]) for i in range(len(prompts))]
    else:  # one call per engine, each over a run of consecutive prompts seeded with the run's first seed
        size = -(-len(prompts) // min(teacher.engines, len(prompts)))
        calls = [
            (list(range(a, min(a + size, len(prompts)))), seeds[a]) for a in range(0, len(prompts), size)
        ]
    results: dict[int, list[Sample]] = {}
    with ThreadPoolExecutor(max(1, min(teacher.engines, len(calls)))) as pool:
        try:
            futures = [
                pool.submit(
                    _decode_call,
                    teacher,
                    classes,
                    indices,
                    prompt_ids,
                    samples,
                    settings,
                    seed,
                    stop_after_sentences,
                )
                for indices, seed in calls
            ]
            for future in as_completed(futures):
                results.update(future.result())
                if on_progress is not None:
                    on_progress(len(results) * samples)
        except BaseException:  # an interruption or a failed call: start no further context
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [results[i] for i in range(len(prompts))]


def sample_to_end(
    teacher: CT2Teacher,
    prompt_ids: list[int],
    n: int,
    settings: SamplingSettings,
    seed: int,
) -> list[list[int]]:
    """``n`` samples of one prompt decoded to EOS or the cap, with no sentence stop and no newline ban
    (the student's recipe in ``distill``); the prompt's n-grams are banned as ``generate`` bans them."""
    to_tokens = teacher.tokenizer.convert_ids_to_tokens
    banned = [list(to_tokens(list(g))) for g in context_ngrams(prompt_ids, settings.no_repeat_ngram_size)]
    engine = teacher.generator()
    with _seeded(seed):
        (result,) = engine.generate_batch(
            [to_tokens(prompt_ids)],
            suppress_sequences=banned or None,
            end_token=sorted(teacher.eos_ids) or None,
            **generation_options(settings, n),
        )
    return [list(ids) for ids in result.sequences_ids]
