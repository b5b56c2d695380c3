"""Evaluate page: run a trained student on a benchmark file (MRPC TSV, {"src","trg"} JSONL, parallel line
files, generic JSONL/TSV), see every evaluation side by side with the copy-input baseline measured on the
same rows, and read the per-example outputs with their scores.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import gradio as gr
import pandas as pd

from db import jobs as job_rows
from db import runs
from models.benchmarks import FORMATS
from pipeline.evaluate_job import TABLE_METRICS, format_metric
from pipeline.params import EVALUATE, evaluate_command
from ui.common import user_errors
from ui.context import AppContext, bind, on_open
from ui.form_state import remember
from ui.forms import FormError, as_float, as_int, confined_path, optional_int, unset
from ui.job_forms import command_preview
from ui.jobview import kind_progress
from ui.train import run_choices

POLL_S = 3.0
RESULT_COLUMNS = [
    "eval id",
    "run",
    "system",
    "benchmark",
    "rows",
    *(label for _, label in TABLE_METRICS),
    "job",
]
EXAMPLE_COLUMNS = [
    "line",
    "source",
    "reference",
    "output",
    "bleu",
    "bleu_to_source",
    "rougeL",
    "bertscore_f1",
]
#: What the per-example table's header shows (spaces let a long name wrap between words).
EXAMPLE_HEADERS = [column.replace("_", " ") for column in EXAMPLE_COLUMNS]
#: Column widths that fit the page without horizontal scrolling (the long text columns wrap).
#: The fixed columns take 40% of the width and the metrics share the rest, so the table never scrolls sideways.
RESULT_WIDTHS = [
    "6%",
    "4%",
    "8%",
    "12%",
    "5%",
    *[f"{60 / len(TABLE_METRICS):.2f}%"] * len(TABLE_METRICS),
    "5%",
]
EXAMPLE_WIDTHS = ["5%", "22%", "22%", "22%", "7%", "8%", "7%", "7%"]

#: The form checks its fields against the evaluate spec (the bounds the CLI documents).
E = {p.name: p for p in EVALUATE}


def _server_path(value: Any, roots, what: str) -> str:
    """A path typed into the form; with ``roots`` it must lie inside one of them and exist."""
    path = str(value or "").strip()
    if roots is not None and path:
        resolved = confined_path(path, roots, "benchmarks")
        if not resolved.exists():
            raise FormError(f"No {what} {path!r} in {', '.join(map(str, roots))}.")
        path = str(resolved)
    return path


def form_params(
    run_id, benchmark, fmt, limit, alpha, samples, exemplars=None, *, roots=None
) -> dict[str, Any]:
    """Job parameters from the form, or a ``FormError`` naming the bad field. With ``roots`` (the
    studio's data folders) the benchmark and the exemplar file must lie inside one of them."""
    if not str(benchmark or "").strip():
        raise FormError("Give the path of a benchmark file or folder on the studio's machine.")
    path = _server_path(benchmark, roots, "benchmark file or folder")
    if fmt not in FORMATS:
        raise FormError(f"Format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    return {
        "run": as_int(run_id, "Run", low=E["run"].low),
        "benchmark": path,
        "format": fmt,
        "limit": None if unset(limit) else optional_int(limit, "Limit", low=E["limit"].low),
        "alpha": as_float(alpha, "alpha", low=E["alpha"].low, high=E["alpha"].high),
        "samples": as_int(
            samples or 0, "Samples for self-BLEU", low=E["samples"].low, high=E["samples"].high
        ),
        "exemplars": _server_path(exemplars, roots, "exemplar file") or None,
    }


def results_table(engine) -> list[list[Any]]:
    """Every evaluation, newest first; a student row and its copy-input row share a job (same rows)."""
    return [
        [e["id"], e["run_id"], e["system"], e["benchmark"], e["rows"],
         *(format_metric(e["metrics"], key) for key, _ in TABLE_METRICS), e["metrics"].get("job_id")]
        for e in runs.list_evaluations(engine)
    ]  # fmt: skip


def examples_frame(engine, evaluation_id: Any) -> pd.DataFrame:
    """The per-example outputs and scores of one evaluation."""
    evaluation = runs.get_evaluation(engine, int(evaluation_id)) if evaluation_id else None
    rows = (evaluation or {}).get("examples") or []
    frame = pd.DataFrame(rows, columns=[c for c in EXAMPLE_COLUMNS if not rows or c in rows[0]])
    return frame.round(2).rename(columns=lambda column: column.replace("_", " "))


def examples_update(frame: pd.DataFrame) -> Any:
    """The per-example table for ``frame``; with no rows, the column names still show (a DataFrame
    without rows would show Gradio's placeholder headers "1 2 3")."""
    if len(frame):
        return frame
    return gr.Dataframe(value=None, headers=list(frame.columns) or EXAMPLE_HEADERS)


def pick_evaluation(evt: gr.SelectData, rows: Any) -> Any:
    row_index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return rows.iloc[row_index, 0] if hasattr(rows, "iloc") else rows[row_index][0]


def preview(ctx: AppContext, *values: Any) -> str:
    return command_preview(
        lambda: form_params(*values, roots=ctx.data_dirs), lambda p: evaluate_command(ctx.db_url, p)
    )


@user_errors
def start_evaluation(ctx: AppContext, *values: Any) -> list[Any]:
    params = form_params(*values, roots=ctx.data_dirs)
    run = runs.get_run(ctx.engine, params["run"])
    if run is None or run["status"] != "done":
        raise FormError(f"Run {params['run']} has not finished training; evaluate a finished run.")
    job = job_rows.submit(ctx.engine, "evaluate", params)
    return [f"Queued evaluation job **{job}**; results appear in the table when it finishes.",
            results_table(ctx.engine)]  # fmt: skip


@user_errors
def show_examples(ctx: AppContext, evaluation_id: Any) -> Any:
    return examples_update(examples_frame(ctx.engine, optional_int(evaluation_id, "Evaluation", low=1)))


def load_page(ctx: AppContext) -> list[Any]:
    choices = [c for c in run_choices(ctx.engine) if "· done" in c[0]]
    return [
        gr.Dropdown(choices=choices, value=choices[0][1] if choices else None),
        results_table(ctx.engine),
    ]


def layout(ctx: AppContext) -> SimpleNamespace:
    """The page's components, by name."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            gr.Markdown("#### Evaluate a run")
            run_pick = gr.Dropdown(run_choices(ctx.engine), label="Run", allow_custom_value=True)
            benchmark = gr.Textbox(label=f"Benchmark file or folder in {', '.join(map(str, ctx.data_dirs))}",
                                   placeholder="mrpc/msr_paraphrase_test.txt")  # fmt: skip
            with gr.Row():
                fmt = gr.Dropdown(list(FORMATS), value="auto", label="Format")
                limit = gr.Number(200, label="First N rows", placeholder="empty = all", precision=0)
        with gr.Column(scale=1):
            with gr.Row():
                alpha = gr.Number(0.7, label="iBLEU alpha")
                samples = gr.Number(0, label="Samples for self-BLEU (0 = skip)", precision=0)
            exemplars = gr.Textbox(label="Exemplar file (optional: one sentence per row whose parse is its template)",
                                   placeholder="exemplars.txt")  # fmt: skip
            command = gr.Code(label="Equivalent command", language="shell", lines=2, interactive=False)
            start = gr.Button("Start evaluation", variant="primary")
            message = gr.Markdown(elem_id="evaluate-message")
            progress = gr.Markdown(kind_progress(ctx.engine, "evaluate"), elem_id="evaluation-progress")
    # the tables take the full width, so every column shows without horizontal scrolling
    gr.Markdown("#### Results")
    gr.Markdown(
        "Newest first. Each evaluation writes a **student** row and a **copy_input** row on the same "
        "benchmark rows. `*` BERTScore-style F1 with the local MiniLM encoder (not comparable with "
        "published BERTScore).",
        elem_classes="id-hint",
    )
    table = gr.Dataframe(
        headers=RESULT_COLUMNS,
        interactive=False,
        wrap=True,
        column_widths=RESULT_WIDTHS,
        elem_classes="id-grid",
        elem_id="evaluation-results",
    )
    gr.Markdown("#### Per-example view")
    evaluation_pick = gr.Number(None, label="Evaluation id (click a row above)", precision=0)
    examples = gr.Dataframe(
        headers=EXAMPLE_HEADERS,
        interactive=False,
        wrap=True,
        column_widths=EXAMPLE_WIDTHS,
        elem_classes="id-grid",
        elem_id="evaluation-examples",
    )
    return SimpleNamespace(**{k: v for k, v in locals().items() if k != "ctx"})


def render(ctx: AppContext) -> None:
    ui = layout(ctx)
    fields = [ui.run_pick, ui.benchmark, ui.fmt, ui.limit, ui.alpha, ui.samples, ui.exemplars]

    def list_evaluations() -> list[list[Any]]:
        return results_table(ctx.engine)

    for field in fields:
        field.change(bind(preview, ctx), fields, ui.command, api_visibility="private", show_progress="hidden")
    ui.start.click(bind(start_evaluation, ctx), fields, [ui.message, ui.table], api_name="start_evaluation")
    ui.evaluation_pick.change(
        bind(show_examples, ctx), ui.evaluation_pick, ui.examples, api_name="evaluation_examples"
    )
    ui.table.select(pick_evaluation, ui.table, ui.evaluation_pick, api_visibility="private")
    gr.api(list_evaluations, api_name="list_evaluations")
    timer = gr.Timer(POLL_S)
    timer.tick(list_evaluations, None, ui.table, api_name="poll_evaluations", show_progress="hidden")
    timer.tick(
        lambda: kind_progress(ctx.engine, "evaluate"),
        None,
        ui.progress,
        api_name="evaluation_progress",
        show_progress="hidden",
    )
    on_open(ctx, bind(load_page, ctx), [], [ui.run_pick, ui.table], api_name="evaluate_page")
    remember(ctx, "evaluate", [ui.benchmark, ui.fmt, ui.limit, ui.alpha, ui.samples, ui.exemplars])
