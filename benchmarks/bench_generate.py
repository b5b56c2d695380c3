"""Candidate generation speed: the reference recipe against our decoders, same teacher, same contexts.

(a) reference: ``model.generate(do_sample=True, top_p=0.9, temperature=0.5, no_repeat_ngram_size=3,
    max_new_tokens=100, num_return_sequences=k)`` per context, then keep each sample's first sentence;
(b) torch: ``pipeline.generate.generate_first_sentences`` (context processed once, contexts batched,
    top-k before top-p, rows stopped at their first sentence end and dropped);
(c) ctranslate2: ``pipeline.generate_ct2`` on the teacher converted to int8 (the CPU default of
    ``--backend auto``).

Runs are interleaved (a, b, c, a, b, c, ...); medians are reported, and each speedup is the median of the
per-run ratios (robust to load drift on a shared machine). Quality beside speed: the fraction of samples
with a complete first sentence, the mean pairwise embedding cosine of each context's sentences
(all-MiniLM-L6-v2; int8 must not make the teacher worse), and the fraction of samples that repeat a
3-gram of their context. Last lines: ``speedup_torch_vs_reference=<x>``, ``speedup_ct2_vs_torch=<x>``,
``speedup_vs_reference=<x>`` (the default CPU backend, ctranslate2, against the reference).

    .venv/bin/python benchmarks/bench_generate.py [--samples 32 --contexts 2 --runs 3 --threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from models.teacher import Teacher, load_teacher  # noqa: E402
from pipeline.generate import SamplingSettings, generate_first_sentences  # noqa: E402
from pipeline.sentences import first_sentence  # noqa: E402

#: SmolLM2-135M needs ~0.27 GFLOP per token; a 2-core CPU here does ~100 GFLOP/s (offline-models.md).
CEILING_TOKENS_PER_S = 350.0

CONTEXTS = [
    "CAIRO, Egypt (AP) -- Egypt's president said on Monday that the country will hold parliamentary "
    "elections early next year. The announcement came after weeks of protests in the capital.",
    "(Reuters) -- Oil prices rose more than 2 percent on Tuesday after a report showed U.S. crude "
    "inventories fell sharply last week. Traders said demand for gasoline remained strong.",
    "(CNN) -- A powerful storm hit the east coast of the United States on Wednesday, leaving thousands "
    "of homes without power.",
    "LONDON, England (AP) -- The British government announced a new plan to build more affordable "
    "homes. Critics said the plan does not go far enough. The housing minister defended it on Thursday.",
]


Outcome = tuple[list[list[str | None]], list[list[list[int]]], int]  # sentences, token ids, tokens


def run_reference(teacher: Teacher, contexts: list[str], samples: int, seed: int) -> Outcome:
    """The recipe from the authors' code: each sample's first sentence (or None) and its tokens."""
    tokenizer, model = teacher.tokenizer, teacher.model
    sentences, ids, tokens = [], [], 0
    for i, context in enumerate(contexts):
        torch.manual_seed(seed + i)
        inputs = tokenizer(context, return_tensors="pt").to(teacher.device)
        with torch.inference_mode():
            out = model.generate(
                **inputs,
                do_sample=True,
                top_p=0.9,
                temperature=0.5,
                no_repeat_ngram_size=3,
                max_new_tokens=100,
                num_return_sequences=samples,
                pad_token_id=tokenizer.pad_token_id,
            )
        new = out[:, inputs["input_ids"].shape[1] :]
        tokens += int((new != tokenizer.pad_token_id).sum())
        texts = tokenizer.batch_decode(new, skip_special_tokens=True)
        sentences.append([first_sentence(text) for text in texts])
        ids.append([[t for t in row.tolist() if t != tokenizer.pad_token_id] for row in new])
    return sentences, ids, tokens


def run_decoder(decode, contexts: list[str], samples: int, seed: int, max_new_tokens: int) -> Outcome:
    settings = SamplingSettings(max_new_tokens=max_new_tokens)
    seeds = [seed + i for i in range(len(contexts))]
    results = decode(contexts, samples, settings, seeds)
    sentences = [[s.sentence for s in per_context] for per_context in results]
    ids = [[s.token_ids for s in per_context] for per_context in results]
    return sentences, ids, sum(s.new_tokens for per_context in results for s in per_context)


def mean_pairwise_cosine(embedder, sentences: list[str | None]) -> float:
    """Mean cosine over every pair of one context's distinct sentences (NaN with fewer than two)."""
    texts = sorted({s for s in sentences if s})
    if len(texts) < 2:
        return float("nan")
    vectors = embedder.encode(texts)
    sims = vectors @ vectors.T
    upper = np.triu_indices(len(texts), k=1)
    return float(sims[upper].mean())


def context_trigram_repeats(tokenizer, contexts: list[str], ids: list[list[list[int]]]) -> float:
    """Fraction of samples containing a 3-gram of their own context (the ban should make this 0)."""
    hits = total = 0
    for context, rows in zip(contexts, ids, strict=True):
        c = tokenizer(context)["input_ids"]
        grams = {tuple(c[i : i + 3]) for i in range(len(c) - 2)}
        for row in rows:
            total += 1
            hits += any(tuple(row[i : i + 3]) in grams for i in range(len(row) - 2))
    return hits / max(total, 1)


NAMES = ("reference", "torch", "ctranslate2")


def _report(name: str, rates: list[float], token_rates: list[float], quality: dict[str, list[float]]) -> None:
    tok_s = statistics.median(token_rates)
    print(
        f"{name}: median {statistics.median(rates):.2f} first sentences/s, {tok_s:.1f} generated tokens/s "
        f"= {100 * tok_s / CEILING_TOKENS_PER_S:.0f}% of the ~{CEILING_TOKENS_PER_S:.0f} tok/s compute ceiling; "
        f"complete first sentence {100 * statistics.mean(quality['complete']):.0f}% of samples, "
        f"mean pairwise cosine {np.nanmean(quality['cosine']):.3f}, "
        f"samples repeating a context 3-gram {100 * statistics.mean(quality['repeats']):.1f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", default="embedded")
    parser.add_argument("--samples", type=int, default=32, help="k: samples per context (default 32)")
    parser.add_argument("--contexts", type=int, default=2, help=f"contexts per run (1-{len(CONTEXTS)})")
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs of each (median reported)")
    parser.add_argument("--max-new-tokens", type=int, default=60, help="our per-sample cap (default 60)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from models.critics import load_embedder
    from pipeline.backends import load_decoder

    teacher = load_teacher(args.teacher, args.device)
    ct2 = load_decoder(args.teacher, args.device, "ctranslate2")
    embedder = load_embedder("embedded", "cpu")
    contexts = CONTEXTS[: args.contexts]
    print(
        f"teacher={teacher.name} device={teacher.device} threads={torch.get_num_threads()} ct2={ct2.quantization}"
    )
    print(f"contexts={len(contexts)} samples={args.samples} runs={args.runs} load={os.getloadavg()[0]:.2f}")
    decoders = {
        "torch": lambda *a: generate_first_sentences(teacher, *a),
        "ctranslate2": lambda *a: ct2.sample(*a),
    }
    for decode in decoders.values():  # warm-up: vocabulary tables, allocator
        run_decoder(decode, contexts[:1], 2, 0, 8)
    rates: dict[str, list[float]] = {n: [] for n in NAMES}
    token_rates: dict[str, list[float]] = {n: [] for n in NAMES}
    quality = {n: {"complete": [], "cosine": [], "repeats": []} for n in NAMES}
    for run in range(args.runs):
        for name in NAMES:
            start = time.perf_counter()
            if name == "reference":
                sentences, ids, tokens = run_reference(teacher, contexts, args.samples, seed=run)
            else:
                sentences, ids, tokens = run_decoder(
                    decoders[name], contexts, args.samples, run, args.max_new_tokens
                )
            seconds = time.perf_counter() - start
            kept = sum(1 for per_context in sentences for s in per_context if s)
            rates[name].append(kept / seconds)
            token_rates[name].append(tokens / seconds)
            quality[name]["complete"].append(kept / (len(contexts) * args.samples))
            quality[name]["cosine"] += [mean_pairwise_cosine(embedder, per) for per in sentences]
            quality[name]["repeats"].append(context_trigram_repeats(teacher.tokenizer, contexts, ids))
            print(
                f"run {run} {name:<11} {seconds:7.1f} s  first_sentences={kept:4d}  "
                f"{kept / seconds:6.2f} sentences/s  {tokens / seconds:6.1f} tokens/s  "
                f"load={os.getloadavg()[0]:.2f}",
                flush=True,
            )
    for name in NAMES:
        _report(name, rates[name], token_rates[name], quality[name])

    # each run's ratio compares measurements taken back to back, so load drift on a shared machine
    # cancels out; the median of those ratios is the reported speedup
    def ratios(a: str, b: str) -> list[float]:
        return [x / y for x, y in zip(rates[a], rates[b], strict=True)]

    for label, (a, b) in {"torch/reference": ("torch", "reference"), "ct2/torch": ("ctranslate2", "torch"),
                          "ct2/reference": ("ctranslate2", "reference")}.items():  # fmt: skip
        print(f"per-run {label}: " + ", ".join(f"{r:.2f}" for r in ratios(a, b)))
    print(f"speedup_torch_vs_reference={statistics.median(ratios('torch', 'reference')):.2f}")
    print(f"speedup_ct2_vs_torch={statistics.median(ratios('ctranslate2', 'torch')):.2f}")
    print(f"speedup_vs_reference={statistics.median(ratios('ctranslate2', 'reference')):.2f}")


if __name__ == "__main__":
    main()
