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
a CPU, else torch with a log line; recorded in every pair's provenance), and ``executor`` / ``ray_address``
/ ``ray_workers`` (``pipeline.executor``: with ``ray`` the batches are decoded by Ray actors, each holding
the student, and committed here in the same order with the same seeds). A killed job resumes after its
last committed batch; pairs are unique on (task, source, target), so nothing is inserted twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db import jobs as job_rows
from db import runs
from db.queries import insert_pairs
from db.schema import sentences
from db.types import Pair
from pipeline.evaluate_job import finished_run
from pipeline.executor import DEFAULTS as EXECUTOR_DEFAULTS
from pipeline.executor import validate_executor
from pipeline.params import DISTILL, STUDENT_BACKENDS, check
from pipeline.runner import JobContext, UserError

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


def student_decoder(log: Callable[[str], None], student, folder: str, p: dict[str, Any]):
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
    log(f"backend auto: using torch because {why}")
    return torch_generate, "torch"


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """The job's parameters checked against ``pipeline.params.DISTILL`` and the executor's keys, with
    defaults filled in; ``UserError`` names the bad one."""
    p = check(DISTILL, {k: v for k, v in params.items() if k not in EXECUTOR_DEFAULTS}, "distill")
    return {**p, **validate_executor(params)}


@dataclass
class Proposals:
    """Stores one round's proposals batch by batch, the same way wherever they were decoded."""

    ctx: JobContext
    task: str
    round: int
    base: dict[str, Any]  # provenance every pair of the round carries
    total: int  # sources of the round
    added: int = 0

    def started(self, backend: str, samples: int) -> None:
        self.base["backend"] = backend
        self.ctx.log(
            f"round {self.round}: run {self.base['student_run']} proposes {samples} targets for {self.total} "
            f"sources (student decoding: {backend})"
        )

    def store(self, start: int, chunk: list[Source], outputs: list[list[str]], seed: int) -> None:
        """One batch's new pairs and the job's progress, in one transaction."""
        new_pairs = [
            Pair(
                source=s["text"],
                target=target,
                task=self.task,
                context_id=s["context_id"],
                source_sentence_id=s["sentence_id"],
                origin="student",
                round=self.round,
                provenance={**self.base, "seed": seed, "sample_index": index},
            )  # fmt: skip
            for s, outs in zip(chunk, outputs, strict=True)
            for index, target in proposals(s["text"], outs)
        ]
        with self.ctx.batch(done=start + len(chunk), total=self.total) as conn:
            self.added += insert_pairs(conn, new_pairs, job_id=self.ctx.job_id)
        self.ctx.advance(start + len(chunk))


def run(ctx: JobContext) -> None:
    from curation.versions import get_version
    from models.loading import ModelLoadError
    from models.student import load_student

    p = validate_params(ctx.params)
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
    folder = str(Path(run_row["output_dir"]) / "final")
    sampling = {k: p[k] for k in ("top_p", "temperature", "no_repeat_ngram_size", "max_new_tokens")}
    base = {"student_run": run_row["id"], "student": run_row["student"], "version": version["name"],
            "recipe_hash": version["recipe_hash"], "sampling": sampling, "job": ctx.job_id}  # fmt: skip
    round_ = Proposals(ctx, task, new_round, base, len(sources))
    size = int(p["batch_size"])
    # ctx.done = sources already committed; batch i samples with seed + its first source's index
    batches = [(i, sources[i : i + size], int(p["seed"]) + i) for i in range(ctx.done, len(sources), size)]
    if p["executor"] == "ray":  # the same batches and seeds, decoded by Ray actors, committed here in order
        from pipeline.ray_jobs import run_distill

        run_distill(ctx, p, folder, batches, round_)
    else:
        ctx.log("executor local: 1 worker (this process)")
        ctx.phase("loading student")
        try:
            student = load_student(folder, device=p["device"])
        except ModelLoadError as exc:
            raise UserError(str(exc)) from exc
        generate, backend = student_decoder(ctx.log, student, folder, p)
        ctx.phase("proposing targets", unit="sources", total=len(sources), done=min(ctx.done, len(sources)))
        round_.started(backend, int(p["samples"]))
        for start, chunk, seed in batches:
            round_.store(start, chunk, generate([s["text"] for s in chunk], int(p["samples"]), seed), seed)
    added = round_.added
    ctx.log(f"round {new_round}: {added} new student pairs")
    if p["score"]:
        score_job = job_rows.submit(ctx.engine, "score", {"nli": p["nli"], "embedder": p["embedder"]})
        ctx.log(f"queued score job {score_job} for the new pairs")
