"""The ``distill`` job: one self-distillation round (method.md step 6).

The trained student of run ``run`` proposes targets for fresh source sentences: 10 samples each with
top-p 0.9, temperature 0.7 and no_repeat_ngram_size 3 (the paper's settings). Every distinct proposal
that differs from its source becomes a candidate pair with ``origin="student"``, ``round`` = the run's
round + 1 (the highest round among its version's pairs, plus one) and provenance naming the run, its
student, version, recipe hash, sampling settings, seed and sample index. The pairs join the same pool
as the teacher's, so the same critics score them (a ``score`` job is queued unless ``score`` is false)
and the studio curates them into a new version.

Fresh sources, in this order of preference:
- ``corpus``: a text file (sentences split per line) or JSONL with ``text`` or ``source`` per line;
- otherwise teacher sentences already stored by generate jobs: per context, the first one that is not
  a source in the run's version.

Parameters: ``run`` (required), ``contexts`` (how many sources, default 20), ``samples`` (10),
``top_p`` (0.9), ``temperature`` (0.7), ``no_repeat_ngram_size`` (3), ``max_new_tokens`` (64),
``batch_size`` (8 sources per committed batch), ``seed`` (0), ``corpus``, ``score`` (true), ``nli`` and
``embedder`` (passed to the queued score job), ``device``. A killed job resumes after its last
committed batch; pairs are unique on (task, source, target), so nothing is inserted twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db import jobs as job_rows
from db import runs
from db.queries import insert_pairs
from db.schema import sentences
from pipeline.evaluate_job import finished_run
from pipeline.runner import JobContext, UserError
from pipeline.types import Pair

DEFAULTS: dict[str, Any] = {
    "contexts": 20,
    "samples": 10,
    "top_p": 0.9,
    "temperature": 0.7,
    "no_repeat_ngram_size": 3,
    "max_new_tokens": 64,
    "batch_size": 8,
    "seed": 0,
    "corpus": None,
    "score": True,
    "nli": None,
    "embedder": "embedded",
    "device": None,
}

Source = dict[str, Any]  # text, and context_id / sentence_id when it came from the teacher


def corpus_sources(path: str, limit: int, exclude: set[str]) -> list[Source]:
    """Sentences from a text or JSONL file, in file order, skipping ``exclude`` and repeats."""
    from pipeline.sentences import split_sentences

    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError(f"Corpus file {file} does not exist.")
    found: list[Source] = []
    seen = set(exclude)
    for number, line in enumerate(file.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        if file.suffix in (".jsonl", ".json"):
            try:
                record = json.loads(line)
                line = record.get("text") or record.get("source") or ""
            except (json.JSONDecodeError, AttributeError) as exc:
                raise UserError(f"{file}, line {number}: not a JSON object with 'text' or 'source'.") from exc
        for sentence in split_sentences(line) or [line.strip()]:
            if sentence not in seen:
                seen.add(sentence)
                found.append({"text": sentence, "context_id": None, "sentence_id": None})
            if len(found) == limit:
                return found
    return found


def teacher_sources(engine, limit: int, exclude: set[str]) -> list[Source]:
    """Per context (in id order), the first stored teacher sentence that is not in ``exclude``."""
    query = (
        select(sentences.c.id, sentences.c.context_id, sentences.c.text)
        .where(sentences.c.round == 0)
        .order_by(sentences.c.context_id, sentences.c.sample_index)
    )
    found: list[Source] = []
    seen, used_contexts = set(exclude), set()
    with engine.connect() as conn:
        for row in conn.execute(query):
            if row.context_id in used_contexts or row.text in seen:
                continue
            seen.add(row.text)
            used_contexts.add(row.context_id)
            found.append({"text": row.text, "context_id": row.context_id, "sentence_id": row.id})
            if len(found) == limit:
                break
    return found


def proposals(source: str, outputs: list[str]) -> list[tuple[int, str]]:
    """(sample index, target) for each distinct, non-empty proposal that is not the source itself."""
    seen, kept = set(), []
    for index, text in enumerate(outputs):
        target = text.replace("\x00", "").strip()  # no stored text may hold NUL
        if target and target != source.strip() and target not in seen:
            seen.add(target)
            kept.append((index, target))
    return kept


def run(ctx: JobContext) -> None:
    import torch

    from curation.versions import get_version
    from models.loading import ModelLoadError
    from models.student import load_student

    p = {**DEFAULTS, **{k: v for k, v in ctx.params.items() if v is not None}}
    if int(p["contexts"]) < 1 or int(p["samples"]) < 1:
        raise UserError("contexts and samples must be positive numbers.")
    run_row = finished_run(ctx)
    version = get_version(ctx.engine, run_row["version_id"])
    task = version["recipe"].get("task", "paraphrase")
    new_round = runs.version_round(ctx.engine, version["id"]) + 1
    used = runs.version_sources(ctx.engine, version["id"])
    if p["corpus"]:
        sources = corpus_sources(p["corpus"], int(p["contexts"]), used)
    else:
        sources = teacher_sources(ctx.engine, int(p["contexts"]), used)
    if not sources:
        raise UserError(
            "No fresh source sentences: run a generate job first (its teacher sentences are used) "
            "or pass a corpus file (--corpus PATH)."
        )
    ctx.phase("loading student")
    try:
        student = load_student(str(Path(run_row["output_dir"]) / "final"), device=p["device"])
    except ModelLoadError as exc:
        raise UserError(str(exc)) from exc
    ctx.phase("proposing targets", unit="sources", total=len(sources), done=min(ctx.done, len(sources)))
    sampling = {k: p[k] for k in ("top_p", "temperature", "no_repeat_ngram_size", "max_new_tokens")}
    base = {"student_run": run_row["id"], "student": run_row["student"], "version": version["name"],
            "recipe_hash": version["recipe_hash"], "sampling": sampling, "job": ctx.job_id}  # fmt: skip
    ctx.log(
        f"round {new_round}: run {run_row['id']} proposes {p['samples']} targets for {len(sources)} sources"
    )
    added, batch = 0, int(p["batch_size"])
    for start in range(ctx.done, len(sources), batch):  # ctx.done = sources already committed
        chunk = sources[start : start + batch]
        seed = int(p["seed"]) + start
        torch.manual_seed(seed)
        outputs = student.generate([s["text"] for s in chunk], n=int(p["samples"]), sample=True,
                                   batch_size=batch, **sampling)  # fmt: skip
        new_pairs = [
            Pair(
                source=s["text"],
                target=target,
                task=task,
                context_id=s["context_id"],
                source_sentence_id=s["sentence_id"],
                origin="student",
                round=new_round,
                provenance={**base, "seed": seed, "sample_index": index},
            )  # fmt: skip
            for s, outs in zip(chunk, outputs, strict=True)
            for index, target in proposals(s["text"], outs)
        ]
        with ctx.batch(done=start + len(chunk), total=len(sources)) as conn:
            added += insert_pairs(conn, new_pairs, job_id=ctx.job_id)
        ctx.advance(start + len(chunk))
    ctx.log(f"round {new_round}: {added} new student pairs")
    if p["score"]:
        score_job = job_rows.submit(ctx.engine, "score", {"nli": p["nli"], "embedder": p["embedder"]})
        ctx.log(f"queued score job {score_job} for the new pairs")
