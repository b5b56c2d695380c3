"""The ``loop`` job: the whole method as one durable job of durable stages.

generate -> score -> [critic -> score with it, when labels exist] -> version -> train -> evaluate (one per
benchmark, beside copy-input and the untrained student on the same rows).

Each stage is the existing job of its kind, queued as a child of the loop (``jobs.parent_id``) and run in
this process. A stage is found again by its kind and parameters, so a killed loop resumes where it
stopped: finished stages are skipped, an interrupted one resumes from what it committed, a failed or
cancelled one is queued again. The version stage saves ``loop<id>`` once. Cancelling the loop cancels
the stage it runs.

Parameters: ``preset`` (``smoke`` | ``cpu-hour``; ``PRESETS`` holds their settings) and any override of
a preset setting (``PRESET_KEYS``). ``benchmarks`` is a list of ``{"path", "format", "limit"}``; without
one the loop evaluates on the pairs training held out of its version (``heldout.jsonl`` in the loop's
folder). ``labels`` names a labelled file (JSONL / MRPC / SICK, ``impossible import`` formats) to train
the learned critic on; without it, the database's own labels are used when there are enough.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from db import jobs as job_rows
from db import runs
from pipeline.runner import STALE_AFTER_S, JobCancelled, JobContext, UserError, execute, wait_for_earlier_jobs
from pipeline.train_job import database_folder

#: Each preset's settings. ``smoke`` checks the loop in about 2 minutes on 2 cores; ``cpu-hour`` is the
#: measured run of the README's "The full loop on CPU".
PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {
        "task": "paraphrase", "corpus": None, "contexts": 24, "samples": 24, "teacher": "embedded",
        "backend": "auto", "seed": 0, "embedder": "embedded", "nli": None, "parser": None, "labels": None, "labels_format": "jsonl", "learned_min": 0.7,
        # a few hundred pairs per context keep ~0.2% at embed_cosine 0.8; 0.75 makes a smoke run keep some
        "min": {"embed_cosine": 0.75}, "max": {}, "student": "embedded", "lora": True, "epochs": None, "max_steps": 20,
        "batch_size": 4, "benchmarks": [], "eval_limit": 20, "untrained": True, "distill_contexts": 0,
    },
    "cpu-hour": {
        "task": "paraphrase", "corpus": None, "contexts": 150, "samples": 32, "teacher": "embedded",
        "backend": "auto", "seed": 0, "embedder": "embedded", "nli": None, "parser": None, "labels": None, "labels_format": "jsonl", "learned_min": 0.7,
        "min": {}, "max": {}, "student": "embedded", "lora": True, "epochs": 3, "max_steps": None,
        "batch_size": 8, "benchmarks": [], "eval_limit": 200, "untrained": True, "distill_contexts": 0,
    },
}  # fmt: skip
PRESET_KEYS = tuple(PRESETS["smoke"])
STAGE_POLL_S = 1.0


def loop_params(preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """A preset's settings with ``overrides`` (``None`` = keep the preset's); ``UserError`` when unknown."""
    if preset not in PRESETS:
        raise UserError(f"Unknown loop preset {preset!r}; use one of: {', '.join(PRESETS)}.")
    unknown = sorted(set(overrides) - set(PRESET_KEYS))
    if unknown:
        raise UserError(f"Unknown loop setting(s) {', '.join(unknown)}; known: {', '.join(PRESET_KEYS)}.")
    given = {k: v for k, v in overrides.items() if v is not None}
    settings = {"preset": preset, **PRESETS[preset], **given}
    if "max_steps" in given and "epochs" not in given:  # steps and epochs are two ways to say one thing
        settings["epochs"] = None
    if "epochs" in given and "max_steps" not in given:
        settings["max_steps"] = None
    return settings


def _settings(ctx: JobContext) -> dict[str, Any]:
    params = dict(ctx.params)
    return loop_params(params.pop("preset", "smoke"), params)


# ---- stages -------------------------------------------------------------------------------------------
def _claim_or_wait(ctx: JobContext, job_id: int) -> str:
    """Run stage ``job_id`` here, or wait for the worker that runs it (taking it over should that worker
    die); return its final status."""
    wait_for_earlier_jobs(ctx.engine, job_id)
    while not job_rows.claim(ctx.engine, job_id, job_rows.this_worker(), STALE_AFTER_S):
        status = job_rows.get(ctx.engine, job_id)["status"]
        if status in job_rows.TERMINAL:
            return status
        ctx.check_cancelled()
        time.sleep(STAGE_POLL_S)
    return execute(ctx.engine, job_id)


class Stages:
    """The loop's stages, each found again by kind, parameters and how many alike came before it."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.seen: dict[str, int] = {}
        self.finished = 0  # the job's progress counts finished stages

    def _finished(self, job_id: int) -> int:
        self.finished += 1
        self.ctx.set_progress(self.finished)
        return job_id

    def run(self, kind: str, params: dict[str, Any]) -> int:
        """Run (or find finished) this stage's ``kind`` job with exactly ``params``; return its id."""
        ctx = self.ctx
        params = {k: v for k, v in params.items() if v is not None}
        key = json.dumps([kind, params], sort_keys=True)
        nth = self.seen.get(key, 0)
        self.seen[key] = nth + 1
        alike = [
            c
            for c in job_rows.children(ctx.engine, ctx.job_id)
            if c["kind"] == kind and c["params"] == params
        ]
        found = alike[nth] if nth < len(alike) else None
        if found is not None and found["status"] == "done":
            ctx.log(f"{kind}: job {found['id']} already done")
            return self._finished(found["id"])
        if found is None:
            job_id = job_rows.submit(ctx.engine, kind, params, parent=ctx.job_id)
        else:
            job_id = found["id"]  # a failed or cancelled stage runs again; an active one goes on
            job_rows.requeue(ctx.engine, job_id)
        ctx.check_cancelled()
        ctx.phase(f"{kind} (job {job_id})")
        status = _claim_or_wait(ctx, job_id)
        if status == "cancelled":
            raise JobCancelled()
        if status != "done":
            error = (job_rows.get(ctx.engine, job_id)["error"] or status).splitlines()[0]
            raise UserError(f"The {kind} stage (job {job_id}) {status}: {error}")
        return self._finished(job_id)


def _generate_params(s: dict[str, Any]) -> dict[str, Any]:
    keys = ("task", "corpus", "contexts", "samples", "teacher", "backend", "seed")
    return {k: s[k] for k in keys}


def _has_database_labels(engine: Engine, task: str) -> bool:
    from models.learned_critic import MIN_LABELS
    from pipeline.critic_job import database_rows

    return len(database_rows(engine, task)) >= MIN_LABELS


def loop_recipe(engine: Engine, s: dict[str, Any], learned: bool):
    """The default recipe of the task, with the loop's ``min`` / ``max`` overrides (a ``None`` value
    switches that check off) and ``learned >= learned_min`` when a learned critic scored the pairs."""
    from curation.select import default_recipe

    recipe = default_recipe(engine, s["task"])
    for bound in ("min", "max"):
        for column, value in (s[bound] or {}).items():
            recipe = recipe.with_threshold(bound, column, value)
    if learned:
        recipe = recipe.with_threshold("min", "learned", s["learned_min"])
    return recipe


def nothing_kept_message(engine: Engine, recipe) -> str:
    """Why a recipe keeps no pair: the critic that removes most, and what loosening it would add."""
    from curation.stats import summarize

    summary = summarize(engine, recipe)
    if summary["total"] == 0:
        return f"No {recipe.task} pair to select from: the generate stage stored none."
    worst = max(summary["critics"], key=lambda c: c["removes_alone"], default=None)
    if worst is None:
        return f"No pair survives dedup of {summary['total']} pairs."
    flag = f"--{worst['bound']} {worst['column']}={worst['loosen_to']:g}"
    return (
        f"No pair of {summary['total']} survives the recipe: {worst['bound']} {worst['column']} "
        f"{worst['threshold']:g} alone removes {worst['removes_alone']}; loosening it one step ({flag}) "
        f"would keep {worst['loosen_adds']}. Loosen it, or generate more contexts."
    )


def version_stage(ctx: JobContext, name: str, recipe) -> dict[str, Any]:
    """Save the recipe's selection as version ``name`` (once); ``UserError`` when it keeps nothing."""
    from curation.versions import VersionError, get_version, save_version

    ctx.phase(f"version {name}")
    try:
        version = get_version(ctx.engine, name)
    except VersionError:
        from curation.select import count_selected

        if count_selected(ctx.engine, recipe) == 0:
            raise UserError(nothing_kept_message(ctx.engine, recipe)) from None
        version = save_version(ctx.engine, name, recipe)
    ctx.log(f"version {name}: {version['pair_count']} pairs (recipe {recipe.hash})")
    return version


def _train_params(s: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    keys = ("student", "lora", "epochs", "max_steps", "batch_size", "seed")
    return {"version": version["name"], **{k: s[k] for k in keys}}


def heldout_benchmark(ctx: JobContext, folder: Path, run: dict[str, Any]) -> dict[str, Any]:
    """The pairs training held out of its version, as a JSONL benchmark in the loop's folder."""
    from models.train import split_eval

    config = run["config"]
    pairs = runs.version_training_pairs(ctx.engine, run["version_id"])
    _, held = split_eval(pairs, float(config.get("eval_fraction", 0.1)), int(config.get("seed", 0)))
    if not held:
        raise UserError("Training held out no pair to evaluate on; give a benchmark (--benchmark PATH).")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "heldout.jsonl"
    text = "".join(json.dumps({"source": a, "reference": b}, ensure_ascii=False) + "\n" for a, b in held)
    path.write_text(text, encoding="utf-8")
    return {"path": str(path), "format": "jsonl", "limit": None}


def _train_and_evaluate(stages: Stages, s: dict[str, Any], version: dict[str, Any], folder: Path) -> int:
    """Train on ``version``, evaluate on every benchmark; return the training run's id."""
    ctx = stages.ctx
    if s["distill_contexts"] and not s["benchmarks"]:
        raise UserError(
            "A self-distillation round needs a benchmark (--benchmark PATH): the held-out pairs of the first "
            "round may be training pairs of the second, so the rounds would not be measured on the same unseen rows."
        )
    run_row = runs.run_for_job(ctx.engine, stages.run("train", _train_params(s, version)))
    benchmarks = s["benchmarks"] or [heldout_benchmark(ctx, folder, run_row)]
    for bench in benchmarks:
        params = {"run": run_row["id"], "benchmark": bench["path"], "format": bench.get("format") or "auto"}
        params.update(limit=bench.get("limit") or s["eval_limit"], untrained=s["untrained"] or None,
                      embedder=s["embedder"] or "")  # fmt: skip
        stages.run("evaluate", params)
    return run_row["id"]


def run(ctx: JobContext) -> None:
    """Job handler for kind ``loop``."""
    s = _settings(ctx)
    stages = Stages(ctx)
    folder = database_folder(ctx.engine, f"loop{ctx.job_id}")
    ctx.log(
        f"loop preset {s['preset']}: {json.dumps({k: v for k, v in s.items() if v not in (None, {}, [])})}"
    )
    stages.run("generate", _generate_params(s))
    # no parser unless asked: the ted critic is off in the default recipe and parses at ~40 pairs/s
    score = {"embedder": s["embedder"] or "none", "nli": s["nli"], "parser": s["parser"] or "none"}
    stages.run("score", score)
    learned = bool(s["labels"]) or _has_database_labels(ctx.engine, s["task"])
    evaluations = len(s["benchmarks"]) or 1
    per_round = 1 + evaluations  # train and evaluate; round 0 adds generate, score [, critic, score]
    total = 2 + 2 * learned + per_round + (2 + per_round if s["distill_contexts"] else 0)  # distill, score
    ctx.set_progress(ctx.done, total)
    if learned:
        critic_dir = str(folder / "critic")
        labels = {"from": s["labels"], "format": s["labels_format"] if s["labels"] else None}
        stages.run("critic", {"out": critic_dir, **labels, "task": s["task"], "seed": s["seed"]})
        score = {**score, "critic": critic_dir}
        stages.run("score", score)
    recipe = loop_recipe(ctx.engine, s, learned)
    version = version_stage(ctx, f"loop{ctx.job_id}", recipe)
    run_id = _train_and_evaluate(stages, s, version, folder)
    if s["distill_contexts"]:  # one self-distillation round: the student proposes, the same critics judge
        distill = {"run": run_id, "contexts": s["distill_contexts"], "corpus": s["corpus"], "seed": s["seed"]}
        distill["score"] = False  # the loop scores the new pairs as its own stage
        stages.run("distill", distill)
        stages.run("score", score)
        version = version_stage(ctx, f"loop{ctx.job_id}-r1", recipe)
        _train_and_evaluate(stages, s, version, folder / "r1")
    ctx.phase("done", quiet=True)
    for line in summary_lines(loop_summary(ctx.engine, ctx.job_id)):
        ctx.log(line)


# ---- the final table ----------------------------------------------------------------------------------
def _seconds(row: dict[str, Any]) -> float | None:
    if row["started_at"] is None or row["finished_at"] is None:
        return None
    return (row["finished_at"] - row["started_at"]).total_seconds()


def loop_summary(engine: Engine, loop_id: int) -> dict[str, Any]:
    """What a loop made: each stage (kind, job, status, seconds), the version's size and, per evaluation,
    the student's, the untrained student's and copy-input's metrics on the same rows."""
    from curation.versions import VersionError, get_version
    from db.queries import dataset_counts

    children = job_rows.children(engine, loop_id)
    try:
        kept = get_version(engine, f"loop{loop_id}")["pair_count"]
    except VersionError:
        kept = None
    evaluations = []
    for child in children:
        if child["kind"] == "evaluate" and child["status"] == "done":
            systems = {r["system"]: r for r in runs.evaluations_for_job(engine, child["id"])}
            run = runs.get_run(engine, int(child["params"]["run"]))
            evaluations.append(
                {"job": child["id"], "run": run["id"], "version": get_version(engine, run["version_id"])["name"],
                 "systems": systems,
                 "benchmark": child["params"]["benchmark"]}
            )  # fmt: skip
    return {
        "stages": [
            {"kind": c["kind"], "job": c["id"], "status": c["status"], "seconds": _seconds(c)}
            for c in children
        ],
        "counts": dataset_counts(engine),
        "kept": kept,
        "evaluations": evaluations,
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The table ``impossible loop`` prints at the end; its last lines are ``kept_pairs=<n>``,
    ``student_ibleu=<x>`` and ``copy_ibleu=<x>`` (the last student on the first benchmark)."""
    lines = [f"{'stage':<10} {'job':>5} {'status':<10} {'seconds':>8}"]
    for st in summary["stages"]:
        seconds = "-" if st["seconds"] is None else f"{st['seconds']:.0f}"
        lines.append(f"{st['kind']:<10} {st['job']:>5} {st['status']:<10} {seconds:>8}")
    counts, kept = summary["counts"], summary["kept"]
    per_context = f" ({kept / counts['contexts']:.2f} per context)" if kept and counts["contexts"] else ""
    lines.append(
        f"contexts {counts['contexts']}, sentences {counts['sentences']}, pairs {counts['pairs']}, "
        f"kept {kept if kept is not None else '-'}{per_context}"
    )
    for ev in summary["evaluations"]:
        first = next(iter(ev["systems"].values()))
        lines.append(
            f"run {ev['run']} (version {ev['version']}) on {first['benchmark']}, {first['rows']} rows:"
        )
        for name in ("student", "untrained", "copy_input"):
            if name in ev["systems"]:
                m = ev["systems"][name]["metrics"]
                lines.append(f"  {name:<11} iBLEU {m['ibleu']:6.2f}  BLEU {m['bleu']:6.2f}  "
                             f"BLEU-src {m['bleu_to_source']:6.2f}")  # fmt: skip
    lines.append(f"kept_pairs={kept if kept is not None else 0}")
    if summary["evaluations"]:
        first_benchmark = summary["evaluations"][0]["benchmark"]
        last = [e for e in summary["evaluations"] if e["benchmark"] == first_benchmark][-1]["systems"]
        lines.append(f"student_ibleu={last['student']['metrics']['ibleu']:.2f}")
        lines.append(f"copy_ibleu={last['copy_input']['metrics']['ibleu']:.2f}")
    return lines
