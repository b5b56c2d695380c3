"""The ``generate`` job: contexts -> k first sentences per context -> candidate pairs, durably.

Stage 1 stores the job's contexts (sampled from the teacher, or read from a corpus) in one transaction;
their ``(job_id, seq)`` key makes a rerun insert nothing twice. Stage 2 works through fixed batches of
``batch_contexts`` contexts in ``seq`` order; each batch's sentences, pairs, ``contexts.generated_at`` and
the job's progress commit in ONE transaction, and batches whose contexts are already generated are
skipped. Context ``seq`` samples with seed ``seed + seq``, so a job killed at any point and resumed ends
with exactly the rows an uninterrupted run would have written.

Importing this module does not import torch, so the app and CLI can call ``validate_params`` cheaply.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from db import jobs as job_rows
from db.queries import insert_ignoring_duplicates, insert_pairs
from db.schema import contexts as contexts_table
from db.schema import sentences as sentences_table
from pipeline.pairing import CandidateSentence, make_pairs
from pipeline.runner import JobContext, UserError
from pipeline.types import BACKENDS, TASKS

DEFAULTS: dict[str, Any] = {
    "teacher": "embedded",
    "task": "paraphrase",
    "contexts": 20,  # how many to sample; with a corpus, the most to use (None: all of it)
    "corpus": None,
    "samples": 16,
    "temperature": 0.5,
    "top_p": 0.9,
    "top_k": 50,
    "no_repeat_ngram_size": 3,
    "max_new_tokens": 60,
    "context_temperature": 1.0,
    "seed": 0,
    "device": "auto",
    "backend": "auto",  # teacher decoding: auto | torch | ctranslate2 | vllm
    "batch_contexts": 4,
    "round": 0,
}

# name -> (smallest allowed value, what the user should pass)
_COUNTS = {
    "samples": (2, "at least 2 samples per context (a pair needs two)"),
    "max_new_tokens": (1, "a positive number of tokens"),
    "batch_contexts": (1, "a positive number of contexts per batch"),
    "no_repeat_ngram_size": (0, "0 (off) or a positive n-gram size"),
    "top_k": (0, "0 (off) or a positive number of tokens"),
    "round": (0, "0 or a positive round number"),
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """The job's parameters with defaults filled in; raises ``UserError`` naming the bad one."""
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise UserError(f"Unknown generate parameter(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}.")
    p = {**DEFAULTS, **{k: v for k, v in params.items() if v is not None or k in ("corpus", "contexts")}}
    if p["task"] not in TASKS:
        raise UserError(f"Unknown task {p['task']!r}; use one of: {', '.join(TASKS)}.")
    if not isinstance(p["teacher"], str) or not p["teacher"].strip():
        raise UserError("The teacher must be a Hugging Face id, a local path, or 'embedded'.")
    if p["contexts"] is not None and (not _is_int(p["contexts"]) or p["contexts"] < 1):
        raise UserError(f"contexts must be a positive whole number, got {p['contexts']!r}.")
    if p["corpus"] is None and p["contexts"] is None:
        p["contexts"] = DEFAULTS["contexts"]
    for name, (smallest, advice) in _COUNTS.items():
        if not _is_int(p[name]) or p[name] < smallest:
            raise UserError(f"{name} must be {advice}, got {p[name]!r}.")
    for name in ("temperature", "context_temperature"):
        if not _is_number(p[name]) or p[name] <= 0:
            raise UserError(f"{name} must be greater than 0, got {p[name]!r}.")
    if not _is_number(p["top_p"]) or not 0 < p["top_p"] <= 1:
        raise UserError(f"top_p must be in (0, 1], got {p['top_p']!r}.")
    if p["backend"] not in BACKENDS:
        raise UserError(f"Unknown backend {p['backend']!r}; use one of: {', '.join(BACKENDS)}.")
    if not _is_int(p["seed"]):
        raise UserError(f"seed must be a whole number, got {p['seed']!r}.")
    if p["corpus"] is not None and not Path(str(p["corpus"])).expanduser().is_file():
        raise UserError(f"Corpus {p['corpus']} does not exist or is not a file; pass a .txt or .jsonl file.")
    return p


def _load_teacher(ctx: JobContext, p: dict[str, Any]):
    """The teacher behind the job's backend (``auto`` logs why when it falls back to torch)."""
    from models.loading import ModelLoadError
    from pipeline.backends import load_decoder

    try:
        decoder = load_decoder(p["teacher"], p["device"], p["backend"], log=ctx.log)
    except ModelLoadError as exc:
        raise UserError(str(exc)) from exc
    detail = f" ({decoder.quantization})" if decoder.quantization else ""
    ctx.log(f"teacher decoding: {decoder.backend}{detail}, {decoder.name}")
    return decoder


def _stored_contexts(ctx: JobContext) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(contexts_table).where(contexts_table.c.job_id == ctx.job_id).order_by(contexts_table.c.seq)
        ).mappings()
        return [dict(r) for r in rows]


def _make_contexts(ctx: JobContext, p: dict[str, Any], teacher_holder: list) -> None:
    """Stage 1: sample or read the contexts and store them all in one transaction."""
    from pipeline.contexts import read_corpus, sample_contexts

    if p["corpus"] is not None:
        found = read_corpus(p["corpus"])[: p["contexts"]]
    else:
        ctx.log(f"sampling {p['contexts']} contexts from the teacher")
        teacher_holder.append(_load_teacher(ctx, p))
        found = sample_contexts(
            teacher_holder[0], p["contexts"], p["seed"], temperature=p["context_temperature"]
        )
    rows = [
        {
            "job_id": ctx.job_id,
            "seq": seq,
            "text": c.text,
            "origin": c.origin,
            "prefix": c.prefix,
            "round": p["round"],
        }
        for seq, c in enumerate(found)
    ]
    with ctx.batch(done=0, total=len(rows)) as conn:
        conn.execute(insert_ignoring_duplicates(conn, contexts_table), rows)
    ctx.log(f"stored {len(rows)} contexts")


def _store_batch(
    conn: Connection, ctx: JobContext, p: dict[str, Any], decoder, batch, results, settings
) -> tuple[int, int]:
    """Write one batch's sentences and pairs and mark its contexts generated; return (sentences, pairs).

    The decoding backend is part of every row's sampling record (``sampling["backend"]``)."""
    teacher_name = decoder.name
    sampling = {**settings.as_dict(), **decoder.provenance}
    sentence_rows, new_pairs = [], 0
    for context, samples in zip(batch, results, strict=True):
        for s in samples:
            if s.sentence:
                sentence_rows.append(
                    {
                        "context_id": context["id"],
                        "job_id": ctx.job_id,
                        "sample_index": s.sample_index,
                        "text": s.sentence,
                        "model": teacher_name,
                        "sampling": sampling,
                        "seed": p["seed"] + context["seq"],
                        "round": p["round"],
                    }
                )
    if sentence_rows:
        conn.execute(insert_ignoring_duplicates(conn, sentences_table), sentence_rows)
    ids = [c["id"] for c in batch]
    stored = conn.execute(
        select(
            sentences_table.c.id,
            sentences_table.c.context_id,
            sentences_table.c.sample_index,
            sentences_table.c.text,
        )
        .where(sentences_table.c.context_id.in_(ids))
        .order_by(sentences_table.c.context_id, sentences_table.c.sample_index)
    ).all()
    for context in batch:
        candidates = [
            CandidateSentence(r.id, r.sample_index, r.text) for r in stored if r.context_id == context["id"]
        ]
        provenance = {
            "teacher": teacher_name,
            "sampling": sampling,
            "backend": decoder.backend,
            "seed": p["seed"] + context["seq"],
            "job_id": ctx.job_id,
        }
        pairs = make_pairs(
            candidates, p["task"], context_id=context["id"], round=p["round"], provenance=provenance
        )
        new_pairs += insert_pairs(conn, pairs, ctx.job_id)
    conn.execute(
        update(contexts_table).where(contexts_table.c.id.in_(ids)).values(generated_at=job_rows.now())
    )
    return len(sentence_rows), new_pairs


def run(ctx: JobContext) -> None:
    """Run (or resume) a generate job: see the module docstring."""
    from pipeline.generate import SamplingSettings

    p = validate_params(ctx.params)
    teacher_holder: list = []
    if not _stored_contexts(ctx):
        _make_contexts(ctx, p, teacher_holder)
    stored = _stored_contexts(ctx)
    settings = SamplingSettings(
        temperature=float(p["temperature"]),
        top_p=float(p["top_p"]),
        top_k=p["top_k"] or None,
        no_repeat_ngram_size=p["no_repeat_ngram_size"],
        max_new_tokens=p["max_new_tokens"],
    )
    done = sum(1 for c in stored if c["generated_at"] is not None)
    ctx.set_progress(done, len(stored))
    size = p["batch_contexts"]
    for start in range(0, len(stored), size):
        batch = [c for c in stored[start : start + size] if c["generated_at"] is None]
        if not batch:
            continue
        if not teacher_holder:
            teacher_holder.append(_load_teacher(ctx, p))
        decoder = teacher_holder[0]
        began = time.perf_counter()
        seeds = [p["seed"] + c["seq"] for c in batch]
        results = decoder.sample([c["text"] for c in batch], p["samples"], settings, seeds)
        done += len(batch)
        with ctx.batch(done=done, total=len(stored)) as conn:
            n_sentences, n_pairs = _store_batch(conn, ctx, p, decoder, batch, results, settings)
        seconds = time.perf_counter() - began
        ctx.log(
            f"contexts {done}/{len(stored)}: {n_sentences} sentences, {n_pairs} new pairs "
            f"({seconds:.1f} s, {n_sentences / max(seconds, 1e-9):.2f} sentences/s, {decoder.backend})"
        )
