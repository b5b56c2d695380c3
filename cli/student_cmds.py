"""Student verbs: ``train``, ``evaluate``, ``distill``, ``runs``.

``train``, ``evaluate`` and ``distill`` queue a durable job and, unless ``--background`` is given, run it
in this process (Ctrl-C keeps its checkpoints / committed batches; ``impossible resume JOB`` continues).
With ``--background`` a worker (``impossible worker`` or the studio) picks it up.
"""

from __future__ import annotations

import argparse
from typing import Any

from cli import add_db_argument
from db import connect, display_url, runs
from db import jobs as job_rows
from models.availability import check_model
from pipeline import runner

SYSTEM_ORDER = ("student", "untrained", "copy_input")
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


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="fine-tune a student on a saved version")
    add_db_argument(p)
    p.add_argument("--version", required=True, help="version name (or id) to train on")
    p.add_argument("--student", default="embedded",
                   help="hub id, local folder, .gguf file, or 'embedded' (SmolLM2-135M; default)")  # fmt: skip
    steps = p.add_mutually_exclusive_group()
    steps.add_argument("--epochs", type=int, help="passes over the training pairs (default 1)")
    steps.add_argument("--max-steps", type=int, help="optimizer steps (overrides epochs)")
    p.add_argument("--lr", type=float, help="peak learning rate (default 5e-5, or 2e-4 with --lora)")
    p.add_argument("--batch-size", type=int, help="pairs per step (default 8)")
    p.add_argument("--lora", action="store_true", help="train a LoRA adapter (merged into the saved model)")
    p.add_argument(
        "--syntax",
        action="store_true",
        help="syntax-controlled: the student reads source + the target's parse template (needs link-grammar)",
    )
    p.add_argument("--eval-fraction", type=float, help="share of pairs held out for eval loss (default 0.1)")
    p.add_argument("--checkpoint-every", type=int, help="steps between checkpoints (default 50)")
    p.add_argument("--seed", type=int, help="data order and initialisation seed (default 0)")
    p.add_argument("--device", help="auto (default: CUDA when present), cpu, cuda, cuda:1, ...")
    p.add_argument(
        "--output-dir",
        help="where checkpoints and the final model go (default: runs/<db>-<db id>-run<run id> beside a SQLite file)",
    )
    p.add_argument("--background", action="store_true", help="only queue the job for a worker")
    p.set_defaults(handler=cmd_train)

    p = subparsers.add_parser("evaluate", help="score a trained student and the copy-input baseline")
    add_db_argument(p)
    p.add_argument("--run", type=int, required=True, help="training run id (see `impossible runs`)")
    p.add_argument("--benchmark", required=True, help="benchmark file or folder")
    p.add_argument("--format", default="auto", choices=("auto", "mrpc", "jsonl", "lines", "tsv"))
    p.add_argument("--limit", type=int, help="evaluate the first N rows only")
    p.add_argument("--alpha", type=float, default=0.7, help="iBLEU weight on BLEU to the reference (0.7)")
    p.add_argument(
        "--samples", type=int, default=0, help="sampled outputs per source for self-BLEU (0 = skip)"
    )
    p.add_argument("--embedder", default="embedded",
                   help="encoder for the BERTScore-style metrics ('' to skip; default embedded MiniLM)")  # fmt: skip
    p.add_argument("--untrained", action="store_true",
                   help="also the run's base student before training, prompted the same way")  # fmt: skip
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--device")
    p.add_argument("--background", action="store_true", help="only queue the job for a worker")
    p.set_defaults(handler=cmd_evaluate)

    p = subparsers.add_parser("distill", help="one self-distillation round: the student proposes new pairs")
    add_db_argument(p)
    p.add_argument("--run", type=int, required=True, help="training run id whose student proposes")
    p.add_argument("--contexts", type=int, default=20, help="fresh source sentences (default 20)")
    p.add_argument("--samples", type=int, default=10, help="proposals per source (default 10)")
    p.add_argument("--corpus", help="text/JSONL file of sources (default: stored teacher sentences)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-score", action="store_true", help="do not score the new pairs afterwards")
    p.add_argument("--nli", help="NLI model for the score job (default: none, embedding similarity)")
    p.add_argument("--device")
    p.add_argument("--backend", choices=("auto", "torch", "ctranslate2"), default="auto",
                   help="student decoding: auto (ctranslate2 for a causal student on CPU, else torch)")  # fmt: skip
    p.add_argument("--background", action="store_true", help="only queue the jobs for a worker")
    p.set_defaults(handler=cmd_distill)

    p = subparsers.add_parser("runs", help="training runs, newest first, one per line (id first)")
    add_db_argument(p)
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(handler=cmd_runs)


def _submit_and_maybe_run(engine, kind: str, params: dict[str, Any], background: bool) -> tuple[int, str]:
    job_id = job_rows.submit(engine, kind, {k: v for k, v in params.items() if v is not None})
    if background:
        print(f"queued {kind} job {job_id}; a worker (`impossible worker` or the studio) will run it")
        return job_id, "queued"
    status = runner.run_job(engine, job_id)
    if status != "done":
        row = job_rows.get(engine, job_id)
        detail = (row["error"] or status).splitlines()[0]
        raise runner.UserError(f"{kind} job {job_id} {status}: {detail}")
    return job_id, status


def cmd_train(args: argparse.Namespace) -> int:
    engine = connect(args.db)
    params = {
        "version": args.version, "student": args.student, "epochs": args.epochs, "max_steps": args.max_steps,
        "lr": args.lr, "batch_size": args.batch_size, "lora": args.lora or None,
        "eval_fraction": args.eval_fraction, "checkpoint_every": args.checkpoint_every, "seed": args.seed,
        "device": args.device, "output_dir": args.output_dir, "syntax": args.syntax or None,
    }  # fmt: skip
    check_model("student", args.student)
    job_id, status = _submit_and_maybe_run(engine, "train", params, args.background)
    if status == "done":
        run = runs.run_for_job(engine, job_id)
        print(f"run {run['id']} done: model in {run['config'].get('final_dir')}")
    return 0


def format_metric(metrics: dict[str, Any], key: str) -> str:
    value = metrics.get(key)
    return f"{value:.2f}" if isinstance(value, (int, float)) else "-"


def evaluation_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table, one line per evaluation row (student and copy-input side by side)."""
    header = f"{'system':<12} {'rows':>5} " + " ".join(f"{label:>11}" for _, label in TABLE_METRICS)
    lines = [header]
    for row in rows:
        cells = " ".join(f"{format_metric(row['metrics'], key):>11}" for key, _ in TABLE_METRICS)
        lines.append(f"{row['system']:<12} {row['rows']:>5} {cells}")
    return "\n".join(lines)


def cmd_evaluate(args: argparse.Namespace) -> int:
    engine = connect(args.db)
    params = {
        "run": args.run, "benchmark": args.benchmark, "format": args.format, "limit": args.limit,
        "alpha": args.alpha, "samples": args.samples, "embedder": args.embedder,
        "batch_size": args.batch_size, "max_new_tokens": args.max_new_tokens, "device": args.device,
        "untrained": args.untrained or None,
    }  # fmt: skip
    check_model("embedder", args.embedder)
    job_id, status = _submit_and_maybe_run(engine, "evaluate", params, args.background)
    if status == "done":
        rows = sorted(runs.evaluations_for_job(engine, job_id), key=lambda r: SYSTEM_ORDER.index(r["system"]))
        print(f"run {args.run} on {rows[0]['benchmark']} (alpha {args.alpha}):")
        print(evaluation_table(rows))
        print("* BERTScore-style F1 with the local embedder; not comparable with published BERTScore.")
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    engine = connect(args.db)
    params = {
        "run": args.run, "contexts": args.contexts, "samples": args.samples, "corpus": args.corpus,
        "seed": args.seed, "score": not args.no_score, "nli": args.nli, "device": args.device,
        "backend": args.backend,
    }  # fmt: skip
    check_model("nli", args.nli)
    job_id, status = _submit_and_maybe_run(engine, "distill", params, args.background)
    if status != "done":
        return 0
    print(f"distill job {job_id}: {runs.count_job_pairs(engine, job_id)} student pairs added")
    if not args.no_score:  # the score job the distill job queued
        queued = [j for j in job_rows.recent(engine, 20)
                  if j["kind"] == "score" and j["status"] == "queued" and j["id"] > job_id]  # fmt: skip
        for job in queued:
            runner.run_job(engine, job["id"])
            print(f"score job {job['id']}: {job_rows.get(engine, job['id'])['status']}")
    return 0


def format_run(row: dict[str, Any]) -> str:
    total = row["config"].get("total_steps") or row.get("progress_total") or "?"
    return (
        f"{row['id']:>4}  {row['status']:<9} version={row['version']} student={row['student']} "
        f"steps={row['last_step'] or 0}/{total} recipe={row['recipe_hash']} dir={row['output_dir']}"
    )


def cmd_runs(args: argparse.Namespace) -> int:
    engine = connect(args.db)
    for row in runs.list_runs(engine, args.limit):
        print(format_run(row))
    return 0


TRAIN_FLAGS = (
    ("student", "--student"), ("epochs", "--epochs"), ("max_steps", "--max-steps"), ("lr", "--lr"),
    ("batch_size", "--batch-size"), ("eval_fraction", "--eval-fraction"), ("seed", "--seed"),
    ("device", "--device"), ("output_dir", "--output-dir"),
)  # fmt: skip
EVALUATE_FLAGS = (
    ("format", "--format"),
    ("limit", "--limit"),
    ("alpha", "--alpha"),
    ("samples", "--samples"),
)


def _command(argv: list[str], params: dict[str, Any], flags) -> str:
    import shlex

    for key, flag in flags:
        if params.get(key) not in (None, ""):
            argv += [flag, str(params[key])]
    return shlex.join(argv)


def train_command(db_url: str, params: dict[str, Any]) -> str:
    """The ``impossible train`` command that queues the same job as ``params``."""
    argv = ["impossible", "train", "--db", display_url(db_url), "--version", str(params.get("version", ""))]
    argv += ["--lora"] if params.get("lora") else []
    return _command(argv + (["--syntax"] if params.get("syntax") else []), params, TRAIN_FLAGS)


def evaluate_command(db_url: str, params: dict[str, Any]) -> str:
    """The ``impossible evaluate`` command that queues the same job as ``params``."""
    argv = ["impossible", "evaluate", "--db", display_url(db_url), "--run", str(params.get("run", "")),
            "--benchmark", str(params.get("benchmark", ""))]  # fmt: skip
    return _command(argv, params, EVALUATE_FLAGS)
