"""Candidate generation speed: the reference recipe against our generator, same teacher, same contexts.

(a) reference: ``model.generate(do_sample=True, top_p=0.9, temperature=0.5, no_repeat_ngram_size=3,
    max_new_tokens=100, num_return_sequences=k)`` per context, then keep each sample's first sentence;
(b) ours: ``pipeline.generate.generate_first_sentences`` (context processed once, contexts batched,
    top-k before top-p, rows stopped at their first sentence end and dropped).

Runs are interleaved (a, b, a, b, ...); medians are reported, and the speedup is the median of the
per-run ratios (robust to load drift on a shared machine). Last line: ``speedup_vs_reference=<x>``.

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


def run_reference(teacher: Teacher, contexts: list[str], samples: int, seed: int) -> tuple[int, int]:
    """The recipe from the authors' code; returns (first sentences kept, tokens generated)."""
    tokenizer, model = teacher.tokenizer, teacher.model
    kept = tokens = 0
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
        kept += sum(1 for text in texts if first_sentence(text))
    return kept, tokens


def run_ours(
    teacher: Teacher, contexts: list[str], samples: int, seed: int, max_new_tokens: int
) -> tuple[int, int]:
    settings = SamplingSettings(max_new_tokens=max_new_tokens)
    seeds = [seed + i for i in range(len(contexts))]
    results = generate_first_sentences(teacher, contexts, samples, settings, seeds)
    kept = sum(1 for per_context in results for s in per_context if s.sentence)
    return kept, sum(s.new_tokens for per_context in results for s in per_context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", default="embedded")
    parser.add_argument("--samples", type=int, default=32, help="k: samples per context (default 32)")
    parser.add_argument("--contexts", type=int, default=2, help=f"contexts per run (1-{len(CONTEXTS)})")
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs of each (median reported)")
    parser.add_argument("--max-new-tokens", type=int, default=60, help="our per-sample cap (default 60)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    teacher = load_teacher(args.teacher, args.device)
    contexts = CONTEXTS[: args.contexts]
    print(f"teacher={teacher.name} device={teacher.device} threads={torch.get_num_threads()}")
    print(f"contexts={len(contexts)} samples={args.samples} runs={args.runs}")
    run_ours(teacher, contexts[:1], 2, 0, 8)  # warm-up: vocabulary tables, allocator
    rates: dict[str, list[float]] = {"reference": [], "ours": []}
    token_rates: dict[str, list[float]] = {"reference": [], "ours": []}
    for run in range(args.runs):
        for name in ("reference", "ours"):
            start = time.perf_counter()
            if name == "reference":
                kept, tokens = run_reference(teacher, contexts, args.samples, seed=run)
            else:
                kept, tokens = run_ours(teacher, contexts, args.samples, run, args.max_new_tokens)
            seconds = time.perf_counter() - start
            rates[name].append(kept / seconds)
            token_rates[name].append(tokens / seconds)
            print(
                f"run {run} {name:<9} {seconds:7.1f} s  first_sentences={kept:4d}  "
                f"{kept / seconds:6.2f} sentences/s  {tokens / seconds:6.1f} tokens/s",
                flush=True,
            )
    for name in ("reference", "ours"):
        tok_s = statistics.median(token_rates[name])
        print(
            f"{name}: median {statistics.median(rates[name]):.2f} first sentences/s, {tok_s:.1f} generated "
            f"tokens/s = {100 * tok_s / CEILING_TOKENS_PER_S:.0f}% of the ~{CEILING_TOKENS_PER_S:.0f} tok/s "
            "compute ceiling"
        )
    # each run's ratio compares two measurements taken back to back, so load drift on a shared machine
    # cancels out; the median of those ratios is the reported speedup
    ratios = [ours / ref for ours, ref in zip(rates["ours"], rates["reference"], strict=True)]
    print("per-run speedups: " + ", ".join(f"{r:.2f}" for r in ratios))
    print(f"speedup_vs_reference={statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
