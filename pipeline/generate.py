"""Candidate generation, the hot path: k samples per context, each stopped at its first sentence end.

The reference recipe (``model.generate(num_return_sequences=k, max_new_tokens=100)`` and keep the first
sentence) re-processes the context once per sample, decodes 100 tokens to keep ~25, and sorts the whole
vocabulary for top-p at every step. This decoder instead

- processes each context once and copies its KV cache to its k rows,
- decodes several contexts together (left-padded, explicit position ids),
- applies top-k before top-p (top-p then sorts 50 values, not 49k),
- stops a row as soon as its first sentence is certainly complete and drops finished rows from the batch,
- bans newlines and repeated n-grams (``no_repeat_ngram_size`` over context + sample, as ``generate`` does).

Sampling is reproducible per context: every context draws from its own generator seeded with
``seeds[i]``, so a resumed job regenerates the same sentences for the same context batches. The same code
runs on CPU and CUDA (the device the teacher was loaded on).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import torch
from transformers import DynamicCache

from models.teacher import Teacher
from pipeline.sentences import CLOSERS, TERMINALS, completed_sentences, first_sentence

MAX_CONTEXT_TOKENS = 512


@dataclass(frozen=True)
class SamplingSettings:
    """Decoding parameters, recorded with every sentence they produce."""

    temperature: float = 0.5
    top_p: float = 0.9
    top_k: int | None = 50
    no_repeat_ngram_size: int = 3
    max_new_tokens: int = 60

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Sample:
    """One continuation of one prompt."""

    prompt_index: int
    sample_index: int
    text: str  # the decoded continuation, whitespace-normalised
    token_ids: list[int]  # the generated tokens (without EOS)
    stop: str  # sentence | eos | length

    @property
    def new_tokens(self) -> int:
        return len(self.token_ids)

    @property
    def sentence(self) -> str | None:
        """The first sentence of the continuation (None when it has no complete sentence)."""
        return first_sentence(self.text)


@dataclass(frozen=True)
class _Vocabulary:
    newline_ids: torch.Tensor  # tokens that would start a new line (banned)
    watch_ids: frozenset[int]  # tokens holding a terminal or closing character: check for a sentence end
    eos_ids: frozenset[int]


@lru_cache(maxsize=4)
def _vocabulary(teacher: Teacher) -> _Vocabulary:
    tokenizer = teacher.tokenizer
    ids = [[i] for i in range(len(tokenizer))]
    backend = getattr(tokenizer, "backend_tokenizer", None)  # Rust tokenizers decode 50k pieces in ~0.5 s
    pieces = backend.decode_batch(ids, skip_special_tokens=False) if backend else tokenizer.batch_decode(ids)
    watched = set(TERMINALS + CLOSERS)
    newline = [i for i, piece in enumerate(pieces) if "\n" in piece or "\r" in piece]
    eos = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    configured = getattr(teacher.model.generation_config, "eos_token_id", None)
    eos |= set(configured if isinstance(configured, list) else [configured] if configured is not None else [])
    return _Vocabulary(
        newline_ids=torch.tensor(newline, dtype=torch.long, device=teacher.device),
        watch_ids=frozenset(i for i, piece in enumerate(pieces) if watched & set(piece)),
        eos_ids=frozenset(eos),
    )


def _ngram_table(tokens: list[int], n: int) -> dict[tuple[int, ...], set[int]]:
    """Every (n-1)-token prefix in ``tokens`` mapped to the tokens that followed it."""
    table: dict[tuple[int, ...], set[int]] = {}
    for i in range(len(tokens) - n + 1):
        table.setdefault(tuple(tokens[i : i + n - 1]), set()).add(tokens[i + n - 1])
    return table


class _Rows:
    """Book-keeping for the rows still decoding: which prompt and sample each is, and what it generated."""

    def __init__(self, prompt_ids: list[list[int]], samples: int, ngram: int) -> None:
        self.prompt = [p for p in range(len(prompt_ids)) for _ in range(samples)]
        self.sample = [s for _ in prompt_ids for s in range(samples)]
        self.history = [list(prompt_ids[p]) for p in self.prompt]  # context + generated, for n-grams
        self.generated: list[list[int]] = [[] for _ in self.prompt]
        self.pending = [False] * len(self.prompt)
        self.ngram = ngram
        self.base = [_ngram_table(ids, ngram) if ngram > 0 else {} for ids in prompt_ids]
        self.own: list[dict[tuple[int, ...], set[int]]] = [{} for _ in self.prompt]

    def banned(self) -> tuple[list[int], list[int]]:
        """(row, token) pairs that would repeat an n-gram."""
        rows, cols = [], []
        if self.ngram <= 0:
            return rows, cols
        for r, history in enumerate(self.history):
            key = tuple(history[len(history) - self.ngram + 1 :]) if self.ngram > 1 else ()
            for table in (self.base[self.prompt[r]], self.own[r]):
                for token in table.get(key, ()):
                    rows.append(r)
                    cols.append(token)
        return rows, cols

    def append(self, r: int, token: int) -> None:
        history = self.history[r]
        history.append(token)
        self.generated[r].append(token)
        if self.ngram > 0 and len(history) >= self.ngram:
            self.own[r].setdefault(tuple(history[-self.ngram : -1]), set()).add(token)

    def keep(self, indices: list[int]) -> None:
        for name in ("prompt", "sample", "history", "generated", "pending", "own"):
            values = getattr(self, name)
            setattr(self, name, [values[i] for i in indices])


def _sample_tokens(logits: torch.Tensor, settings: SamplingSettings, uniforms: torch.Tensor) -> torch.Tensor:
    """temperature -> top-k -> top-p (as ``generate`` orders its warpers), then an inverse-CDF draw."""
    scores = logits.float() / settings.temperature
    if settings.top_k:
        values, indices = scores.topk(min(settings.top_k, scores.shape[-1]), dim=-1)
    else:
        values, indices = scores.sort(dim=-1, descending=True)
    probs = torch.softmax(values, dim=-1)
    if settings.top_p < 1.0:
        mass_before = probs.cumsum(-1) - probs
        probs = probs.masked_fill(mass_before >= settings.top_p, 0.0)
    cdf = probs.cumsum(-1)
    threshold = uniforms.to(cdf.device, cdf.dtype).unsqueeze(-1) * cdf[:, -1:]
    choice = (cdf <= threshold).sum(-1).clamp_(max=cdf.shape[-1] - 1)
    return indices.gather(-1, choice.unsqueeze(-1)).squeeze(-1)


def _cache_keyword(model: Any) -> str:
    """transformers >= 5.24 calls the KV cache argument ``cache``; earlier versions ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _encode(teacher: Teacher, prompts: list[str], max_context_tokens: int) -> list[list[int]]:
    tokenizer = teacher.tokenizer
    fallback = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    encoded = [tokenizer(p)["input_ids"][-max_context_tokens:] for p in prompts]
    return [ids or [fallback] for ids in encoded]


def _prefill(teacher: Teacher, prompt_ids: list[list[int]], samples: int):
    """Run every prompt once (left-padded), then copy each prompt's cache and last logits to its rows."""
    device = teacher.device
    width = max(len(ids) for ids in prompt_ids)
    pad = teacher.tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in prompt_ids], device=device)
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompt_ids], device=device)
    positions = (mask.cumsum(-1) - 1).clamp_(min=0)
    cache = DynamicCache(config=teacher.model.config)
    out = teacher.model(
        input_ids=input_ids,
        attention_mask=mask,
        position_ids=positions,
        use_cache=True,
        logits_to_keep=1,
        **{_cache_keyword(teacher.model): cache},
    )
    cache.batch_repeat_interleave(samples)
    logits = out.logits[:, -1, :].repeat_interleave(samples, dim=0)
    next_position = (positions[:, -1:] + 1).repeat_interleave(samples, dim=0)
    return cache, logits, mask.repeat_interleave(samples, dim=0), next_position


def _sentences_done(text: str, stop_after_sentences: int) -> bool:
    return len(completed_sentences(text)) >= stop_after_sentences


@torch.inference_mode()
def sample_continuations(
    teacher: Teacher,
    prompts: list[str],
    samples: int,
    settings: SamplingSettings,
    seeds: list[int],
    *,
    stop_after_sentences: int | None = 1,
    max_context_tokens: int = MAX_CONTEXT_TOKENS,
    on_progress: Callable[[int], None] | None = None,
) -> list[list[Sample]]:
    """``samples`` continuations of every prompt, decoded together; one list of samples per prompt.

    A row stops at its ``stop_after_sentences``-th certainly complete sentence (None: only at EOS or
    ``settings.max_new_tokens``). ``seeds[i]`` seeds prompt i's sampling. ``on_progress`` gets the number
    of finished samples after every decoding step.
    """
    if not prompts:
        return []
    vocab = _vocabulary(teacher)
    tokenizer = teacher.tokenizer
    window = getattr(teacher.model.config, "max_position_embeddings", None)
    if window:  # keep the end of a long context, leaving room for the sample
        max_context_tokens = max(1, min(max_context_tokens, window - settings.max_new_tokens))
    prompt_ids = _encode(teacher, prompts, max_context_tokens)
    generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
    rows = _Rows(prompt_ids, samples, settings.no_repeat_ngram_size)
    cache, logits, mask, position = _prefill(teacher, prompt_ids, samples)
    results: list[list[Sample]] = [[] for _ in prompts]
    cache_keyword = _cache_keyword(teacher.model)

    def finish(r: int, stop: str) -> None:
        text = " ".join(tokenizer.decode(rows.generated[r], skip_special_tokens=True).split())
        results[rows.prompt[r]].append(Sample(rows.prompt[r], rows.sample[r], text, rows.generated[r], stop))

    for step in range(settings.max_new_tokens):
        logits[:, vocab.newline_ids] = float("-inf")
        ban_rows, ban_cols = rows.banned()
        if ban_rows:
            logits[ban_rows, ban_cols] = float("-inf")
        counts = [rows.prompt.count(p) for p in range(len(prompts))]
        uniforms = torch.cat([torch.rand(n, generator=generators[p]) for p, n in enumerate(counts) if n])
        tokens = _sample_tokens(logits, settings, uniforms).tolist()
        survivors = []
        for r, token in enumerate(tokens):
            if token in vocab.eos_ids:
                finish(r, "eos")
                continue
            rows.append(r, token)
            if stop_after_sentences and (token in vocab.watch_ids or rows.pending[r]):
                text = tokenizer.decode(rows.generated[r], skip_special_tokens=True)
                if _sentences_done(text, stop_after_sentences):
                    finish(r, "sentence")
                    continue
                rows.pending[r] = text.rstrip(CLOSERS).endswith(tuple(TERMINALS))
            survivors.append(r)
        if not survivors or step == settings.max_new_tokens - 1:
            for r in survivors:
                finish(r, "length")
            break
        if on_progress is not None:
            on_progress(len(prompts) * samples - len(survivors))
        if len(survivors) < len(tokens):
            keep = torch.tensor(survivors, device=teacher.device)
            cache.batch_select_indices(keep)
            mask, position = mask[keep], position[keep]
            rows.keep(survivors)
            tokens = [tokens[r] for r in survivors]
        mask = torch.cat([mask, mask.new_ones(len(survivors), 1)], dim=-1)
        out = teacher.model(
            input_ids=torch.tensor(tokens, device=teacher.device).unsqueeze(-1),
            attention_mask=mask,
            position_ids=position,
            use_cache=True,
            **{cache_keyword: cache},
        )
        logits = out.logits[:, -1, :]
        position = position + 1
    for per_prompt in results:
        per_prompt.sort(key=lambda s: s.sample_index)
    if on_progress is not None:
        on_progress(len(prompts) * samples)
    return results


def generate_first_sentences(
    teacher: Teacher,
    contexts: list[str],
    samples: int,
    settings: SamplingSettings,
    seeds: list[int],
    on_progress: Callable[[int], None] | None = None,
) -> list[list[Sample]]:
    """k continuations per context, each stopped at its first sentence (read it from ``Sample.sentence``).
    ``on_progress`` gets the number of finished samples as decoding goes."""
    return sample_continuations(
        teacher, contexts, samples, settings, seeds, stop_after_sentences=1, on_progress=on_progress
    )
