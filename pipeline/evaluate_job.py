"""The ``evaluate`` job: a trained student and the copy-input baseline on the same benchmark rows.

Parameters: ``run`` (training run id, required), ``benchmark`` (file or folder path, required),
``format`` (auto | mrpc | jsonl | lines | tsv), ``limit`` (first N rows), ``alpha`` (iBLEU weight, 0.7),
``batch_size`` (16), ``max_new_tokens`` (64), ``samples`` (outputs per source for self-BLEU; 0 = skip),
``embedder`` (encoder for the BERTScore-style metrics; ``embedded`` = all-MiniLM-L6-v2, empty = skip),
``syntax`` (true: TED-R is required, so a missing parser is an error, not a skipped metric),
``exemplars`` (see below), ``untrained`` (true: also the run's base student before training, prompted the same way: the paper's
"the teacher cannot do this" baseline), ``device``.

With a parser installed, both systems also get TED-R (``pipeline.syntax_control``: the tree distance
between the top levels of each output's parse and the reference's template; for copy-input the output is
the source). A syntax-controlled run reads each source with the reference's template (rows whose
reference the parser rejects keep their plain source). ``exemplars`` (a file of one sentence per
benchmark row) takes every row's template from its exemplar's parse instead of the reference's.

Writes two ``evaluations`` rows in one transaction, both with the run's id: ``system="student"`` and
``system="copy_input"`` (and ``system="untrained"`` when asked), each with corpus metrics and per-example (source, reference, output, scores).
Greedy decoding makes the student's outputs reproducible. An interrupted evaluation starts again from
the first row (nothing is written before the end), and a finished one is never written twice.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from db import runs
from pipeline.params import EVALUATE, check
from pipeline.runner import JobContext, UserError, require_models

#: The metrics a results table shows (CLI and studio), in order: (key, column label).
TABLE_METRICS = (
    ("ibleu", "iBLEU"),
    ("bleu", "BLEU"),
    ("bleu_to_source", "BLEU-src"),
    ("rouge1", "R-1"),
    ("rouge2", "R-2"),
    ("rougeL", "R-L"),
    ("bertscore_f1", "BERTSc*"),
    ("bert_ibleu", "BERT-iBLEU*"),
    ("self_bleu", "self-BLEU"),
    ("ted_r", "TED-R"),
)


def format_metric(metrics: dict[str, Any], key: str) -> str:
    value = metrics.get(key)
    return f"{value:.2f}" if isinstance(value, (int, float)) else "-"


SELF_BLEU_SAMPLING = {"sample": True, "top_p": 0.9, "temperature": 0.7}


def finished_run(ctx: JobContext) -> dict[str, Any]:
    """The run to evaluate; ``UserError`` unless it exists and has a finished model."""
    run_id = ctx.params.get("run")
    if run_id in (None, ""):
        raise UserError("An evaluation needs a training run id (--run ID; `impossible runs` lists them).")
    run = runs.get_run(ctx.engine, int(run_id))
    if run is None:
        raise UserError(f"No training run with id {run_id}; `impossible runs` lists them.")
    final = Path(run["output_dir"]) / "final"
    if run["status"] != "done" or not (final / "student.json").is_file():
        raise UserError(
            f"Run {run_id} has no finished model (status {run['status']}); evaluate it after training finishes."
        )
    return run


def _embedder(ctx: JobContext, spec: str | None, device: str | None):
    from models.loading import ModelLoadError
    from models.metrics import TokenEmbedder

    if not spec:
        return None
    try:
        return TokenEmbedder.load(spec, device=device or "cpu")
    except ModelLoadError as exc:
        if spec != "embedded":
            raise UserError(str(exc)) from exc
        ctx.log(f"BERTScore-style metrics skipped: {exc}")
        return None


def _generate(
    ctx: JobContext, student, sources: list[str], p: dict[str, Any], phase: str = "generating outputs"
) -> tuple[list[str], float]:
    """Greedy outputs for ``sources`` in batches (progress and cancel checked between batches)."""
    outputs: list[str] = []
    began = time.perf_counter()
    ctx.phase(phase, unit="rows", total=len(sources))
    for start in range(0, len(sources), p["batch_size"]):
        ctx.check_cancelled()
        chunk = sources[start : start + p["batch_size"]]
        outputs += [o[0] for o in student.generate(chunk, max_new_tokens=p["max_new_tokens"])]
        ctx.set_progress(len(outputs), len(sources))
        ctx.advance(len(outputs))
    return outputs, len(sources) / max(time.perf_counter() - began, 1e-9)


def _self_bleu_samples(ctx: JobContext, student, sources: list[str], p: dict[str, Any]) -> list[list[str]]:
    """``samples`` sampled outputs per source, in batches, moving the phase's row count."""
    ctx.phase("sampling for self-BLEU", unit="rows", total=len(sources))
    samples: list[list[str]] = []
    for start in range(0, len(sources), p["batch_size"]):
        ctx.check_cancelled()
        samples += student.generate(sources[start : start + p["batch_size"]], n=int(p["samples"]),
                                    max_new_tokens=p["max_new_tokens"], batch_size=p["batch_size"],
                                    **SELF_BLEU_SAMPLING)  # fmt: skip
        ctx.advance(len(samples))
    return samples


def _examples(bench, outputs: list[str], per_example: list[dict[str, float]]) -> list[dict[str, Any]]:
    return [
        {"line": row.line, "source": row.source, "reference": row.reference, "output": out, **scores}
        for row, out, scores in zip(bench.rows, outputs, per_example, strict=True)
    ]


def _syntax_setup(
    ctx: JobContext, run: dict[str, Any], bench, p: dict[str, Any]
) -> tuple[Any, list[str | None], list[str]]:
    """(parser or None, each row's template, the student's inputs) for this run; the templates come from
    the references' parses, or from the exemplar file's. ``syntax`` or ``exemplars`` insist on a parser."""
    from pipeline.critics import syntax
    from pipeline.syntax_control import controlled_source, open_parser, read_exemplars, templates_for

    syntax_run, exemplars = bool((run.get("config") or {}).get("syntax")), p["exemplars"]
    if not (syntax_run or exemplars or p["syntax"]) and syntax.resolve_parser(syntax.AUTO) is None:
        ctx.log("no parser installed: TED-R skipped (install Debian's python3-link-grammar for it)")
        return None, [None] * len(bench.rows), list(bench.sources)
    shapes = read_exemplars(exemplars, len(bench.rows)) if exemplars else list(bench.references)
    parser = open_parser()
    templates = templates_for(ctx.engine, parser, shapes)
    ctx.log(f"templates from {'the exemplars in ' + exemplars if exemplars else 'the references'}")
    if not syntax_run:
        return parser, templates, list(bench.sources)
    inputs = [
        s if t is None else controlled_source(s, t) for s, t in zip(bench.sources, templates, strict=True)
    ]
    ctx.log(
        f"syntax-controlled run: {sum(t is not None for t in templates)} of {len(templates)} rows have a template"
    )
    return parser, templates, inputs


def _add_ted_r(
    ctx: JobContext, parser, outputs: list[str], templates, metrics: dict, rows: list[dict]
) -> None:
    from pipeline.syntax_control import ted_r

    if parser is None:
        return
    found = ted_r(ctx.engine, parser, outputs, templates)
    metrics["ted_r"] = found.mean
    for row, value in zip(rows, found.rows, strict=True):
        row["ted_r"] = value


def run(ctx: JobContext) -> None:
    from models.benchmarks import BenchmarkFormatError, read_benchmark
    from models.loading import ModelLoadError
    from models.metrics import score_system
    from models.student import load_student

    p = check(EVALUATE, ctx.params, "evaluate")  # defaults and bounds: ``pipeline.params.EVALUATE``
    run = finished_run(ctx)
    if p["embedder"] != "embedded":  # a missing embedded encoder only skips the BERTScore-style metrics
        require_models(("embedder", p["embedder"]))
    if not p.get("benchmark"):
        raise UserError("An evaluation needs a benchmark file (--benchmark PATH).")
    try:
        bench = read_benchmark(p["benchmark"], p["format"], p["limit"])
    except BenchmarkFormatError as exc:
        raise UserError(str(exc)) from exc
    if runs.evaluations_for_job(ctx.engine, ctx.job_id):
        ctx.log("results already stored")
        return
    ctx.log(f"run {run['id']} on {bench.name} ({bench.format}, {len(bench.rows)} rows)")
    ctx.phase("loading student")
    try:
        student = load_student(str(Path(run["output_dir"]) / "final"), device=p["device"])
    except ModelLoadError as exc:
        raise UserError(str(exc)) from exc
    parser, templates, inputs = _syntax_setup(ctx, run, bench, p)
    outputs, outputs_per_s = _generate(ctx, student, inputs, p)
    samples = _self_bleu_samples(ctx, student, inputs, p) if int(p["samples"]) > 1 else None
    del student
    untrained = _untrained_outputs(ctx, run, inputs, p) if p["untrained"] else None
    if p["embedder"]:
        ctx.phase("loading embedder")
    embedder = _embedder(ctx, p["embedder"], p["device"])
    ctx.phase("scoring metrics")
    common = {
        "job_id": ctx.job_id,
        "benchmark_path": str(Path(bench.path).resolve()),
        "format": bench.format,
        "limit": p["limit"],
        # what TED-R (and a syntax run's inputs) measured the shape against
        "templates": None if parser is None else (p["exemplars"] or "references"),
    }
    student_metrics, student_rows = score_system(
        outputs, bench.references, bench.sources, alpha=float(p["alpha"]), embedder=embedder, samples=samples
    )
    copy_metrics, copy_rows = score_system(
        bench.sources, bench.references, bench.sources, alpha=float(p["alpha"]), embedder=embedder
    )
    _add_ted_r(ctx, parser, outputs, templates, student_metrics, student_rows)
    _add_ted_r(ctx, parser, list(bench.sources), templates, copy_metrics, copy_rows)
    student_metrics.update(common, outputs_per_s=outputs_per_s, max_new_tokens=p["max_new_tokens"])
    copy_metrics.update(common)
    systems = [
        ("student", student_metrics, outputs, student_rows),
        ("copy_input", copy_metrics, bench.sources, copy_rows),
    ]
    if untrained is not None:
        base_metrics, base_rows = score_system(
            untrained, bench.references, bench.sources, alpha=float(p["alpha"]), embedder=embedder
        )
        _add_ted_r(ctx, parser, untrained, templates, base_metrics, base_rows)
        base_metrics.update(common, base=run["student"], max_new_tokens=p["max_new_tokens"])
        systems.append(("untrained", base_metrics, untrained, base_rows))
    with ctx.batch(done=len(bench.rows), total=len(bench.rows)) as conn:
        for system, metrics, outs, rows in systems:
            runs.insert_evaluation(
                conn,
                run_id=run["id"],
                system=system,
                benchmark=bench.name,
                rows=len(bench.rows),
                metrics=metrics,
                examples=_examples(bench, outs, rows),
            )
    ctx.log(
        "; ".join(
            f"{system.replace('_', '-')} iBLEU {m['ibleu']:.2f} BLEU {m['bleu']:.2f}{_ted_text(m)}"
            for system, m, _outs, _rows in systems
        )
    )


def _untrained_outputs(
    ctx: JobContext, run: dict[str, Any], inputs: list[str], p: dict[str, Any]
) -> list[str]:
    """Greedy outputs of the run's base student (before training) with the same prompts as the student."""
    from models.loading import ModelLoadError
    from models.student import load_student

    ctx.phase("loading untrained student")
    task = (run.get("config") or {}).get("task")
    try:
        base = load_student(run["student"], task=task, device=p["device"])
    except ModelLoadError as exc:
        raise UserError(f"Cannot load the untrained baseline {run['student']!r}: {exc}") from exc
    outputs, _rate = _generate(ctx, base, inputs, p, "generating untrained outputs")
    return outputs


def _ted_text(metrics: dict[str, Any]) -> str:
    return f" TED-R {metrics['ted_r']:.2f}" if metrics.get("ted_r") is not None else ""
