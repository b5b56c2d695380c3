"""What each job kind runs on Ray (``executor: ray``): its actor class, which holds the kind's model, and
the driver function that cuts the job into units and commits them through ``pipeline.ray_executor.Pool``.

- ``generate``: ``GenerateWorker`` holds the teacher; a unit is a batch of ``batch_contexts`` contexts.
- ``score``: ``ScoreWorker`` holds one stage's scorer; a unit is a batch of ``batch_size`` pending pairs.
- ``distill``: ``DistillWorker`` holds the trained student; a unit is a batch of ``batch_size`` sources.

Importing this module does not import ray or torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.ray_executor import (
    ActorBase,
    Failure,
    Pool,
    Unit,
    connect,
    failure_summary,
    make_plan,
)
from pipeline.runner import JobContext, UserError

# ---- generate ------------------------------------------------------------------------------------------


@dataclass
class DecoderInfo:
    """What the driver records about the actors' teacher (``Decoder``'s provenance fields)."""

    name: str
    backend: str
    quantization: str | None
    provenance: dict[str, Any]
    notes: list[str]


class GenerateWorker(ActorBase):
    """A Ray actor holding one teacher; ``sample`` decodes one unit of contexts."""

    def __init__(self, params: dict[str, Any], threads: int) -> None:
        super().__init__(threads)
        self.params = params
        self.notes: list[str] = []
        self._decoder = None

    def decoder(self):
        if self._decoder is None:
            from models.loading import ModelLoadError
            from pipeline.backends import load_decoder

            p = self.params
            try:
                self._decoder = load_decoder(p["teacher"], p["device"], p["backend"], log=self.notes.append)
            except ModelLoadError as exc:
                raise UserError(str(exc)) from None
        return self._decoder

    def ready(self) -> dict[str, Any]:
        d = self.decoder()
        info = DecoderInfo(d.name, d.backend, d.quantization, d.provenance, list(self.notes))
        return {"where": self.where(), "info": info}

    def sample(self, texts: list[str], seeds: list[int]):
        return self.decoder().sample(texts, self.params["samples"], sampling_settings(self.params), seeds)

    def decode(self, prompts, samples, settings, seeds, stop_after_sentences):
        return self.decoder().sample(
            prompts, samples, settings, seeds, stop_after_sentences=stop_after_sentences
        )


@dataclass
class RemoteDecoder:
    """A ``Decoder`` look-alike whose ``sample`` runs on one actor (for sampling the contexts)."""

    ray: Any
    actor: Any
    info: DecoderInfo

    name = property(lambda self: self.info.name)
    backend = property(lambda self: self.info.backend)
    quantization = property(lambda self: self.info.quantization)
    provenance = property(lambda self: self.info.provenance)

    def sample(self, prompts, samples, settings, seeds, *, stop_after_sentences=1, on_progress=None):
        return self.ray.get(self.actor.decode.remote(prompts, samples, settings, seeds, stop_after_sentences))


def run_generate(ctx: JobContext, p: dict[str, Any]) -> None:
    """``generate_job.run`` on Ray: the same contexts, batches, seeds and stored rows."""
    from pipeline import generate_job

    ray = connect(p["ray_address"])
    plan = make_plan(ray, p["ray_workers"], p["device"])
    ctx.log(plan.describe(p["ray_address"]))
    ctx.phase("starting ray workers (loading teacher)")
    pool = Pool(ray, GenerateWorker, (p, plan.threads), plan)
    try:
        info: DecoderInfo = pool.first_ready(ctx)["info"]
        for note in info.notes:
            ctx.log(note)
        detail = f" ({info.quantization})" if info.quantization else ""
        ctx.log(f"teacher decoding: {info.backend}{detail}, {info.name}")
        decoder = RemoteDecoder(ray, pool.idle[0], info)
        if not generate_job._stored_contexts(ctx):
            generate_job._make_contexts(ctx, p, [decoder])
        stored = generate_job._stored_contexts(ctx)
        settings = sampling_settings(p)
        k, size = p["samples"], p["batch_contexts"]
        done = sum(1 for c in stored if c["generated_at"] is not None)
        ctx.set_progress(done, len(stored))
        ctx.phase("generating", unit="samples", total=len(stored) * k, done=done * k)
        units = []
        for start in range(0, len(stored), size):
            batch = [c for c in stored[start : start + size] if c["generated_at"] is None]
            if batch:
                label = f"contexts {batch[0]['seq'] + 1}-{batch[-1]['seq'] + 1}"
                args = ([c["text"] for c in batch], [p["seed"] + c["seq"] for c in batch])
                units.append(Unit(label, args, batch))
        began, done_before = time.perf_counter(), done

        def commit(unit: Unit, results) -> None:
            nonlocal done
            with ctx.batch(done=done + len(unit.payload), total=len(stored)) as conn:
                n_sentences, n_pairs = generate_job._store_batch(
                    conn, ctx, p, decoder, unit.payload, results, settings
                )
            done += len(unit.payload)
            ctx.advance(done * k)
            rate = (done - done_before) * k / max(time.perf_counter() - began, 1e-9)
            ctx.log(
                f"contexts {done}/{len(stored)} ({unit.label}): {n_sentences} sentences, {n_pairs} new pairs "
                f"({rate:.2f} samples/s over {len(pool.actors)} ray worker(s), {info.backend})"
            )

        failures = pool.run(ctx, units, "sample", commit)
    finally:
        pool.close()
    if failures:
        raise UserError(failure_summary(failures, len(units)))


def sampling_settings(p: dict[str, Any]):
    """The candidates' ``SamplingSettings`` from a generate job's validated parameters."""
    from pipeline.generate import SamplingSettings

    return SamplingSettings(
        temperature=float(p["temperature"]),
        top_p=float(p["top_p"]),
        top_k=p["top_k"] or None,
        no_repeat_ngram_size=p["no_repeat_ngram_size"],
        max_new_tokens=p["max_new_tokens"],
    )


# ---- score ---------------------------------------------------------------------------------------------


class ScoreWorker(ActorBase):
    """A Ray actor holding one stage's scorer (its model loaded once); ``score`` scores one unit of pairs
    exactly as the local stage does: in model chunks, a failing row isolated and given ``score_error``."""

    def __init__(self, params: dict[str, Any], stage_name: str, threads: int, uses_torch: bool) -> None:
        super().__init__(threads, uses_torch)
        self.params, self.stage_name = params, stage_name
        self._scorer: Any = None
        self._chunk = 0

    def scorer(self) -> tuple[Any, int]:
        if self._scorer is None:
            from dataclasses import replace

            from pipeline.score_job import ScoreSettings, build_stages

            settings = replace(ScoreSettings.from_params(self.params), critic=None, parser=None)
            stage = next(s for s in build_stages(settings, None) if s.name == self.stage_name)
            self._scorer, self._chunk = stage.make_scorer(), stage.chunk()
        return self._scorer, self._chunk

    def ready(self) -> dict[str, Any]:
        self.scorer()
        return {"where": self.where()}

    def score(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from pipeline.score_job import isolate_row_errors

        scorer, chunk = self.scorer()
        step = chunk or len(rows)
        results: list[dict[str, Any]] = []
        for start in range(0, len(rows), step):
            results += isolate_row_errors(scorer, rows[start : start + step])
        return results


class RayScoring:
    """``score_job``'s stateless stages (cheap critics, embedding cosine, NLI) on Ray: one actor pool per
    stage; the units are the local executor's batches (``batch_size`` pending pairs in id order)."""

    def __init__(self, ctx: JobContext, settings: Any) -> None:
        self.ctx, self.settings = ctx, settings
        self.ray = connect(settings.ray_address)
        self.failures: list[Failure] = []
        self.units = 0

    def run_stage(self, stage: Any, remaining_later: int, label: str) -> None:
        from pipeline.score_job import as_update_rows, count_where, read_batch, score_update

        ctx, settings = self.ctx, self.settings
        todo = count_where(ctx.engine, stage.pending)
        if todo == 0:
            return
        plan = make_plan(self.ray, settings.ray_workers, settings.device, use_gpu=bool(stage.loads))
        ctx.log(f"{stage.name}: {plan.describe(settings.ray_address)}")
        ctx.phase(f"{label}: starting ray workers" + (f" (loading {stage.loads})" if stage.loads else ""))
        args = (dict(ctx.params), stage.name, plan.threads, bool(stage.loads))
        statement = score_update(stage.columns)
        handled = errors = 0
        began = time.monotonic()

        def units() -> Iterator[Unit]:
            after_id = 0
            while rows := read_batch(ctx.engine, stage.pending, after_id, settings.batch_size):
                after_id = rows[-1]["id"]
                self.units += 1
                yield Unit(f"{stage.name}: pairs {rows[0]['id']}-{after_id}", (rows,), len(rows))

        def commit(unit: Unit, results: list[dict[str, Any]]) -> None:
            nonlocal handled, errors
            total = ctx.done + unit.payload + max(todo - handled - unit.payload, 0) + remaining_later
            with ctx.batch(done=ctx.done + unit.payload, total=total) as conn:
                conn.execute(statement, as_update_rows(results, stage.columns))
            handled += unit.payload
            errors += sum(1 for r in results if r.get("score_error"))
            ctx.advance(min(handled, todo))

        pool = Pool(self.ray, ScoreWorker, args, plan)
        try:
            pool.first_ready(ctx)
            ctx.phase(f"{label}: {stage.name}", unit="pairs", total=todo)
            self.failures += pool.run(ctx, units(), "score", commit)
        finally:
            pool.close()
        ctx.log(f"{stage.name}: done, {handled} pair(s) in {time.monotonic() - began:.1f}s on ray")
        if errors:
            ctx.log(f"{stage.name}: {errors} pair(s) could not be scored; pairs.score_error says why")

    def finish(self) -> None:
        """Fail the job, naming the units that failed, once every other unit and stage has run."""
        if self.failures:
            raise UserError(failure_summary(self.failures, self.units))


# ---- distill -------------------------------------------------------------------------------------------


class DistillWorker(ActorBase):
    """A Ray actor holding one trained student (its folder must be readable where the actor runs: shared
    storage on a cluster); ``propose`` decodes one batch of sources exactly as the local job does."""

    def __init__(self, folder: str, params: dict[str, Any], threads: int) -> None:
        super().__init__(threads)
        self.folder, self.params = folder, params
        self.notes: list[str] = []
        self._generate: Callable[..., list[list[str]]] | None = None
        self.backend = ""

    def generator(self) -> Callable[..., list[list[str]]]:
        if self._generate is None:
            from models.loading import ModelLoadError
            from models.student import load_student
            from pipeline.distill_job import student_decoder

            try:
                student = load_student(self.folder, device=self.params["device"])
            except ModelLoadError as exc:
                raise UserError(str(exc)) from None
            self._generate, self.backend = student_decoder(
                self.notes.append, student, self.folder, self.params
            )
        return self._generate

    def ready(self) -> dict[str, Any]:
        self.generator()
        return {"where": self.where(), "backend": self.backend, "notes": list(self.notes)}

    def propose(self, texts: list[str], n: int, seed: int) -> list[list[str]]:
        return self.generator()(texts, n, seed)


def run_distill(
    ctx: JobContext, p: dict[str, Any], folder: str, batches: list[tuple], proposals: Any
) -> None:
    """``distill_job.run``'s batches ``(start, sources, seed)`` on Ray actors; each finished batch is stored
    by ``proposals.store`` (one transaction with the job's progress) in the batches' order."""
    ray = connect(p["ray_address"])
    plan = make_plan(ray, p["ray_workers"], p["device"] or "auto")
    ctx.log(plan.describe(p["ray_address"]))
    ctx.phase("starting ray workers (loading student)")
    pool = Pool(ray, DistillWorker, (folder, p, plan.threads), plan)
    samples = int(p["samples"])
    try:
        answer = pool.first_ready(ctx)
        for note in answer["notes"]:
            ctx.log(note)
        ctx.phase(
            "proposing targets", unit="sources", total=proposals.total, done=min(ctx.done, proposals.total)
        )
        proposals.started(answer["backend"], samples)
        units = [
            Unit(
                f"sources {start + 1}-{start + len(chunk)}",
                ([s["text"] for s in chunk], samples, seed),
                (start, chunk, seed),
            )  # fmt: skip
            for start, chunk, seed in batches
        ]

        def commit(unit: Unit, outputs: list[list[str]]) -> None:
            start, chunk, seed = unit.payload
            proposals.store(start, chunk, outputs, seed)

        failures = pool.run(ctx, units, "propose", commit)
    finally:
        pool.close()
    if failures:
        raise UserError(failure_summary(failures, len(units)))
