"""The ``generate`` job: contexts -> k first sentences per context -> candidate pairs, durably.

Stage 1 stores the job's contexts (sampled from the teacher, or read from a corpus) in one transaction;
their ``(job_id, seq)`` key makes a rerun insert nothing twice. Stage 2 works through fixed batches of
``batch_contexts`` contexts in ``seq`` order; each batch's sentences, pairs, ``contexts.generated_at`` and
the job's progress commit in ONE transaction, and batches whose contexts are already generated are
skipped. Context ``seq`` samples with seed ``seed + seq``, so a job killed at any point and resumed ends
with exactly the rows an uninterrupted run would have written.

With ``executor: ray`` the same batches are decoded by Ray actors and committed here, one transaction
each (``pipeline.ray_executor``). Parameters are validated by ``pipeline.generate_params`` (re-exported here). Importing this module does not
import torch.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select, update

from db import jobs as job_rows
from db.queries import insert_ignoring_duplicates, insert_pairs
from db.schema import contexts as contexts_table
from db.schema import sentences as sentences_table
from pipeline.generate_params import DEFAULTS, validate_params
from pipeline.pairing import CandidateSentence, make_pairs
from pipeline.runner import JobContext, UserError, require_models

__all__ = ["DEFAULTS", "run", "validate_params"]  # parameters: ``pipeline.generate_params``


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
        ctx.phase("reading the corpus")
        found = read_corpus(p["corpus"])[: p["contexts"]]
    else:
        if not teacher_holder:  # the Ray executor passes its remote teacher
            ctx.phase("loading teacher")
            teacher_holder.append(_load_teacher(ctx, p))
        ctx.phase("sampling contexts", unit="contexts", total=p["contexts"])
        found = sample_contexts(
            teacher_holder[0],
            p["contexts"],
            p["seed"],
            temperature=p["context_temperature"],
            on_progress=ctx.advance,
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
    require_models(("teacher", p["teacher"]))
    if p["executor"] == "ray":  # the same units, seeds and rows, decoded by Ray actors
        from pipeline.ray_jobs import run_generate

        run_generate(ctx, p)
        return
    ctx.log("executor local: 1 worker (this process)")
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
    if done < len(stored) and not teacher_holder:
        ctx.phase("loading teacher")
        teacher_holder.append(_load_teacher(ctx, p))
    k = p["samples"]
    ctx.phase("generating", unit="samples", total=len(stored) * k, done=done * k)
    size = p["batch_contexts"]
    for start in range(0, len(stored), size):
        batch = [c for c in stored[start : start + size] if c["generated_at"] is None]
        if not batch:
            continue
        decoder = teacher_holder[0]
        began = time.perf_counter()
        seeds = [p["seed"] + c["seq"] for c in batch]
        results = decoder.sample(
            [c["text"] for c in batch],
            k,
            settings,
            seeds,
            on_progress=lambda finished, base=done * k: ctx.advance(base + finished),
        )
        done += len(batch)
        with ctx.batch(done=done, total=len(stored)) as conn:
            n_sentences, n_pairs = _store_batch(conn, ctx, p, decoder, batch, results, settings)
        seconds = time.perf_counter() - began
        ctx.log(
            f"contexts {done}/{len(stored)}: {n_sentences} sentences, {n_pairs} new pairs "
            f"({seconds:.1f} s, {n_sentences / max(seconds, 1e-9):.2f} sentences/s, {decoder.backend})"
        )
