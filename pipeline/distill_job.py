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
``embedder`` (passed to the queued score job), ``device``, ``backend`` (the student's decoding engine:
``torch``, ``ctranslate2`` for a causal student, or ``auto`` = ctranslate2 when it can run the student on
a CPU, else torch with a log line; recorded in every pair's provenance). A killed job resumes after its last
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
from db.types import Pair
from pipeline.evaluate_job import finished_run
from pipeline.runner import JobContext, UserError

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
    "backend": "auto",  # student decoding: auto (ctranslate2 for a causal student on CPU) | torch | ctranslate2
}
STUDENT_BACKENDS = ("auto", "torch", "ctranslate2")

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


def _ct2_generate(student, engine, sampling: dict[str, Any]):
    """``generate(texts, seed)`` on a converted causal student: one fresh engine per source, seeded."""
    from pipeline.generate import SamplingSettings
    from pipeline.generate_ct2 import sample_to_end

    settings = SamplingSettings(top_k=None, **sampling)
    tokenizer = student.tokenizer

    def generate(texts: list[str], n: int, seed: int) -> list[list[str]]:
        outputs = []
        for i, text in enumerate(texts):
            ids = tokenizer(student.prompt(text))["input_ids"][: student.max_source_tokens]
            rows = sample_to_end(engine, ids, n, settings, seed * 1000 + i)
            decoded = tokenizer.batch_decode(rows, skip_special_tokens=True)
            outputs.append([t.strip().split("\n", 1)[0].strip() for t in decoded])
        return outputs

    return generate


def student_decoder(ctx: JobContext, student, folder: str, p: dict[str, Any]):
    """(generate(texts, n, seed), backend name) for the job's ``backend``; auto falls back to torch and
    logs why, an explicit backend that cannot run is a ``UserError``."""
    import torch

    from models import ct2
    from models.loading import ModelLoadError

    backend = p["backend"]
    if backend not in STUDENT_BACKENDS:
        raise UserError(f"distill decodes the student with {', '.join(STUDENT_BACKENDS)}, not {backend!r}.")

    def torch_generate(texts: list[str], n: int, seed: int) -> list[list[str]]:
        torch.manual_seed(seed)
        sampling = {k: p[k] for k in ("top_p", "temperature", "no_repeat_ngram_size", "max_new_tokens")}
        return student.generate(texts, n=n, sample=True, batch_size=int(p["batch_size"]), **sampling)

    if backend == "torch":
        return torch_generate, "torch"
    why = None
    if student.kind != "causal":
        why = "CTranslate2 student decoding supports causal students only"
    elif student.device.type == "cuda" and backend == "auto":
        why = "the student runs on CUDA"
    elif not ct2.installed():
        why = "ctranslate2 is not installed (pip install ctranslate2)"
    if why is None:
        try:
            engine = ct2.load_ct2_teacher(
                folder, "cpu" if student.device.type == "cpu" else str(student.device)
            )
            sampling = {k: p[k] for k in ("top_p", "temperature", "no_repeat_ngram_size", "max_new_tokens")}
            return _ct2_generate(student, engine, sampling), "ctranslate2"
        except ModelLoadError as exc:
            why = str(exc)
    if backend == "ctranslate2":
        raise UserError(f"The ctranslate2 backend cannot decode this student: {why}; use --backend torch.")
    ctx.log(f"backend auto: using torch because {why}")
    return torch_generate, "torch"


def run(ctx: JobContext) -> None:

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
    folder = str(Path(run_row["output_dir"]) / "final")
    try:
        student = load_student(folder, device=p["device"])
    except ModelLoadError as exc:
        raise UserError(str(exc)) from exc
    generate, backend = student_decoder(ctx, student, folder, p)
    ctx.phase("proposing targets", unit="sources", total=len(sources), done=min(ctx.done, len(sources)))
    sampling = {k: p[k] for k in ("top_p", "temperature", "no_repeat_ngram_size", "max_new_tokens")}
    base = {"student_run": run_row["id"], "student": run_row["student"], "version": version["name"],
            "recipe_hash": version["recipe_hash"], "sampling": sampling, "job": ctx.job_id,
            "backend": backend}  # fmt: skip
    ctx.log(
        f"round {new_round}: run {run_row['id']} proposes {p['samples']} targets for {len(sources)} sources "
        f"(student decoding: {backend})"
    )
    added, batch = 0, int(p["batch_size"])
    for start in range(ctx.done, len(sources), batch):  # ctx.done = sources already committed
        chunk = sources[start : start + batch]
        seed = int(p["seed"]) + start
        outputs = generate([s["text"] for s in chunk], int(p["samples"]), seed)
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
