"""Train page: pick a version, a student and a few settings, start one training job; watch its loss curve
(train and held-out eval loss), progress and ETA live; cancel it; browse past runs with their settings and
the recipe hash they were trained on. The job runs in the worker process, never in the web server.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import gradio as gr
import pandas as pd

from curation.versions import get_version, list_versions
from db import jobs as job_rows
from db import runs
from models.train_defaults import eval_count, resolved_lr
from pipeline.params import TRAIN, train_command
from pipeline.params import field as spec_field
from ui.common import user_errors
from ui.context import AppContext, bind, on_open
from ui.forms import FormError, as_float, as_int, model_spec, unset
from ui.job_forms import DEVICES, command_preview
from ui.jobview import eta_text, progress_text

POLL_S = 2.0
RUN_COLUMNS = ["run", "status", "version", "student", "steps", "lora", "lr", "batch", "recipe", "folder"]

#: The form's first values come from the train spec (``pipeline.params``), as the CLI's help does.
T = {p.name: p for p in TRAIN}


def _bounds(name: str) -> dict[str, Any]:
    """The spec's bounds of a train parameter (``pipeline.params.TRAIN``), as the form's checks take them."""
    spec = spec_field(TRAIN, name)
    return {"low": spec.low, "high": spec.high}


def form_params(
    version, student, epochs, max_steps, lr, batch_size, lora, eval_fraction, seed, device, syntax=False
) -> dict:
    """Job parameters from the form, or a ``FormError`` naming the bad field. ``syntax``: train the
    syntax-controlled student (source + the target's parse template; ``pipeline.syntax_control``)."""
    if not version:
        raise FormError("Pick a version to train on (save one on the Versions page first).")
    return {
        "version": str(version),
        "student": model_spec(student, "student"),
        "epochs": as_int(epochs, "Epochs", **_bounds("epochs")),
        "max_steps": None if unset(max_steps) else as_int(max_steps, "Max steps", **_bounds("max_steps")),
        "lr": None if unset(lr) else as_float(lr, "Learning rate", **_bounds("lr")),
        "batch_size": as_int(batch_size, "Batch size", **_bounds("batch_size")),
        "lora": bool(lora),
        "eval_fraction": as_float(eval_fraction, "Eval fraction", **_bounds("eval_fraction")),
        "seed": as_int(seed, "Seed", **_bounds("seed")),
        "device": device if device in DEVICES else "auto",
        "syntax": bool(syntax) or None,  # None: left out of the job's parameters and the command
    }


def studio_params(ctx: AppContext, *values: Any) -> dict:
    """``form_params`` for the studio: a local student must also lie in the data or model-cache folders."""
    params = form_params(*values)
    params["student"] = model_spec(params["student"], "student", roots=ctx.model_roots)
    return params


def run_table(engine) -> list[list[Any]]:
    rows = []
    for r in runs.list_runs(engine):
        config = r["config"] or {}
        inner = config.get("config", config)  # a finished run stores the resolved config around it
        total = config.get("total_steps") or r.get("progress_total") or "?"
        lr = resolved_lr(inner.get("lr"), bool(inner.get("lora")))
        rows.append([r["id"], r["status"], r["version"], r["student"], f"{r['last_step'] or 0}/{total}",
                     bool(inner.get("lora")), f"{lr:g}", inner.get("batch_size"), r["recipe_hash"],
                     r["output_dir"]])  # fmt: skip
    return rows


def run_choices(engine) -> list[tuple[str, int]]:
    return [(f"run {r['id']} · {r['version']} · {r['status']}", r["id"]) for r in runs.list_runs(engine)]


def held_out_text(settings: dict[str, Any], pair_count: int | None) -> str:
    """How many pairs the held-out eval loss uses, or why there is none."""
    fraction = float(settings.get("eval_fraction") or 0)
    if pair_count is None:
        return ""
    n_eval = eval_count(pair_count, fraction)
    if n_eval:
        return f"held-out eval: {n_eval} of {pair_count} pairs (eval loss every {settings.get('eval_every', 25)} steps and at the end)"
    if fraction <= 0:
        return "no held-out eval (eval fraction 0): the chart shows the train loss only"
    return (
        f"no held-out eval: the version has {pair_count} pair(s), too few to hold {fraction:g} of them out; "
        "the chart shows the train loss only"
    )


def loss_curve(log: list[dict[str, Any]]) -> Any:
    """The loss chart's data: a train series, and an eval series only when there are held-out points.
    With nothing logged yet the chart is emptied and says so (an empty series gives a "-Infinity" legend)."""
    points = [
        {"step": r["step"], "loss": r["train_loss"], "series": "train"}
        for r in log
        if r["train_loss"] is not None
    ]
    points += [{"step": r["step"], "loss": r["eval_loss"], "series": "eval"} for r in log if r["eval_loss"] is not None]  # fmt: skip
    if not points:
        return gr.LinePlot(value=None, caption="No loss logged yet: the curve appears after the first step.")
    curve = pd.DataFrame(points)
    series = [name for name in ("train", "eval") if name in set(curve["series"])]
    return gr.LinePlot(value=curve, colors_in_legend=series, caption=None)


def run_view(engine, run_id: Any) -> list[Any]:
    """Headline (status, progress, ETA, settings, recipe hash, held-out split) and the loss curve of one
    run."""
    if not run_id:
        return ["No run selected.", loss_curve([])]
    run = runs.get_run(engine, int(run_id))
    if run is None:
        return [f"No run {run_id}.", loss_curve([])]
    job = job_rows.get(engine, run["job_id"]) if run["job_id"] else None
    progress = progress_text(job) if job else ""
    eta = eta_text(job, job_rows.now()) if job else ""
    settings = run["config"].get("config", run["config"])
    settings = {**settings, "lr": resolved_lr(settings.get("lr"), bool(settings.get("lora")))}
    shown = ", ".join(f"{k}={v}" for k, v in sorted(settings.items()) if v not in (None, "", False))
    held_out = held_out_text(settings, _version_size(engine, run.get("version_id")))
    text = (
        f"**Run {run['id']}** · **{run['status']}** · {progress}{f' · ETA {eta}' if eta else ''}\n\n"
        f"student `{run['student']}` · recipe `{run['recipe_hash']}` · `{run['output_dir']}`"
        f"{f' · {held_out}' if held_out else ''}\n\n`{shown}`"
    )
    if job and job.get("error"):
        text += f"\n\n**Error:** {job['error'].strip().splitlines()[0]}"
    return [text, loss_curve(runs.run_log(engine, run["id"]))]


def _version_size(engine, version_id: Any) -> int | None:
    """The number of pairs in a version (what the run trains and holds out from), or None if unknown."""
    if not version_id:
        return None
    try:
        return int(get_version(engine, int(version_id))["pair_count"])
    except ValueError:
        return None


def preview(ctx: AppContext, *values: Any) -> str:
    return command_preview(lambda: studio_params(ctx, *values), lambda p: train_command(ctx.db_url, p))


@user_errors
def start_training(ctx: AppContext, *values: Any) -> list[Any]:
    job = job_rows.submit(ctx.engine, "train", studio_params(ctx, *values))
    return [f"Queued training job **{job}**; its run appears below once the worker starts it.",
            gr.Dropdown(choices=run_choices(ctx.engine))]  # fmt: skip


@user_errors
def cancel_run(ctx: AppContext, run_id: Any) -> list[Any]:
    run = runs.get_run(ctx.engine, as_int(run_id, "Run", low=1))
    if run is None or not run["job_id"]:
        raise FormError(f"No running job for run {run_id}.")
    status = job_rows.request_cancel(ctx.engine, run["job_id"])
    gr.Info(
        f"Run {run['id']}: {status.replace('_', ' ')}; it stops after the current step with a checkpoint."
    )
    return run_view(ctx.engine, run["id"])


def refresh(ctx: AppContext, run_id: Any) -> list[Any]:
    choices = run_choices(ctx.engine)
    chosen = run_id or (choices[0][1] if choices else None)
    return [
        gr.Dropdown(choices=choices, value=chosen),
        *run_view(ctx.engine, chosen),
        run_table(ctx.engine),
    ]


def load_page(ctx: AppContext) -> list[Any]:
    names = [v["name"] for v in list_versions(ctx.engine)]
    return [gr.Dropdown(choices=names, value=names[-1] if names else None), *refresh(ctx, None)]


def layout(ctx: AppContext) -> SimpleNamespace:
    """The page's components, by name."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            gr.Markdown("#### Train a student")
            names = [v["name"] for v in list_versions(ctx.engine)]
            version = gr.Dropdown(
                names, value=names[-1] if names else None, label="Version", allow_custom_value=True
            )
            student = gr.Textbox(
                T["student"].default,
                label="Student (embedded = SmolLM2-135M, a hub id such as t5-large, or a folder)",
            )
            with gr.Row():
                epochs = gr.Number(T["epochs"].default, label="Epochs", precision=0)
                max_steps = gr.Number(
                    None, label="Max steps (overrides epochs)", placeholder="empty = use epochs", precision=0
                )
            with gr.Row():
                # a Number without a placeholder shows (and sends) 0 for None: the placeholder keeps it empty
                lr = gr.Number(None, label="Learning rate", placeholder="empty = 5e-5, LoRA 2e-4")
                batch_size = gr.Number(T["batch_size"].default, label="Batch size", precision=0)
            with gr.Row():
                eval_fraction = gr.Number(T["eval_fraction"].default, label="Held-out eval fraction")
                seed = gr.Number(T["seed"].default, label="Seed", precision=0)
            with gr.Row():
                lora = gr.Checkbox(False, label="LoRA (peft)")
                device = gr.Dropdown(list(DEVICES), value=T["device"].default, label="Device")
            syntax = gr.Checkbox(
                False,
                label="Syntax-controlled (the student reads source + the target's parse template; link-grammar)",
            )
            command = gr.Code(
                label="Equivalent command",
                language="shell",
                lines=2,
                interactive=False,
                elem_id="train-command",
            )
            start = gr.Button("Start training", variant="primary")
            message = gr.Markdown()
        with gr.Column(scale=2):
            with gr.Row():
                run_pick = gr.Dropdown(
                    run_choices(ctx.engine),
                    label="Run",
                    scale=3,
                    allow_custom_value=True,
                    elem_id="train-run",
                )
                cancel = gr.Button("Cancel run", variant="stop", scale=1)
            headline = gr.Markdown("No run selected.")
            curve = gr.LinePlot(
                x="step",
                y="loss",
                color="series",
                title="Loss (train, held-out eval)",
                height=320,
                x_axis_format="d",
                y_axis_format=".2f",
                elem_id="loss-chart",
            )
    gr.Markdown("#### Runs")
    table = gr.Dataframe(
        headers=RUN_COLUMNS,
        interactive=False,
        wrap=True,
        column_widths=["5%", "8%", "11%", "16%", "7%", "6%", "7%", "6%", "14%", "20%"],
        elem_classes="id-grid",
        elem_id="runs-table",
    )
    return SimpleNamespace(**{k: v for k, v in locals().items() if k != "ctx"})


def render(ctx: AppContext) -> None:
    ui = layout(ctx)
    fields = [
        ui.version,
        ui.student,
        ui.epochs,
        ui.max_steps,
        ui.lr,
        ui.batch_size,
        ui.lora,
        ui.eval_fraction,
        ui.seed,
        ui.device,
        ui.syntax,
    ]

    for field in fields:
        field.change(bind(preview, ctx), fields, ui.command, api_visibility="private", show_progress="hidden")
    ui.start.click(bind(start_training, ctx), fields, [ui.message, ui.run_pick], api_name="start_training")
    ui.cancel.click(bind(cancel_run, ctx), ui.run_pick, [ui.headline, ui.curve], api_name="cancel_training")
    ui.run_pick.change(
        lambda r: run_view(ctx.engine, r), ui.run_pick, [ui.headline, ui.curve], api_name="training_run"
    )

    def list_training_runs() -> list[list[Any]]:
        return run_table(ctx.engine)

    gr.api(list_training_runs, api_name="list_runs")
    polled = [ui.run_pick, ui.headline, ui.curve, ui.table]
    gr.Timer(POLL_S).tick(
        bind(refresh, ctx), ui.run_pick, polled, api_name="poll_training", show_progress="hidden"
    )
    on_open(
        ctx,
        bind(load_page, ctx),
        [],
        [ui.version, ui.run_pick, ui.headline, ui.curve, ui.table],
        api_name="train_page",
    )
