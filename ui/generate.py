"""Generate page: start generation and scoring jobs, watch every job (status, progress, rate, ETA, log,
errors), cancel or resume one, and see the equivalent CLI command.

Jobs are rows in the database run by the worker process (``ui.worker``), never by the web server: a page
reload, a second tab or an app restart shows the same jobs, and a long job never blocks the UI.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from db import display_url
from db import jobs as job_rows
from db.queries import generation_stats
from db.types import TASKS
from pipeline.contexts import read_corpus
from pipeline.generate_params import validate_submission
from pipeline.params import GENERATE, SCORE
from pipeline.runner import UserError
from pipeline.types import BACKENDS
from ui.common import received_upload, user_errors
from ui.context import AppContext, bind, on_open
from ui.form_state import remember
from ui.forms import FormError, as_int
from ui.job_forms import (
    DEVICES,
    command_preview,
    generate_command,
    generation_params,
    nli_note,
    nli_placeholder,
    score_command,
    score_params,
)
from ui.jobview import ACTIVE, JOB_COLUMNS, JOB_WIDTHS, job_summary, job_table, last_log_lines

POLL_S = 2.0
#: The forms' first values come from the job specs (``pipeline.params``), as the CLI's defaults do.
G = {p.name: p for p in GENERATE}
S = {p.name: p for p in SCORE}


def _upload_name(stored: str) -> str:
    """The name the user gave an uploaded file (uploads are stored as ``<time stamp>-<name>``)."""
    return Path(stored).name.split("-", 2)[-1]


def worker_status(ctx: AppContext) -> str:
    if ctx.worker is None:
        return f"No worker started by the studio: run `impossible worker --db {display_url(ctx.db_url)}` to execute jobs."
    if ctx.worker.alive():
        state = f"Job worker running (pid {ctx.worker.pid}): jobs run in that process, not in the web server"
    else:
        state = "Job worker idle: a worker process starts within seconds when a job is queued and exits when the queue is empty (freeing GPU memory)"
    restarts = f"; {ctx.worker.restarts} worker(s) died and were replaced" if ctx.worker.restarts else ""
    problem = f" **Problem:** {ctx.worker.problem}." if ctx.worker.problem else ""
    return f"{state}{restarts}.{problem}"


def jobs_view(ctx: AppContext, selected: Any) -> list[Any]:
    """The job table, the selected job's headline and last log lines, and the worker's state."""
    rows = job_rows.recent(ctx.engine, 30)
    job_id = (
        int(selected)
        if isinstance(selected, (int, float)) and selected
        else (rows[0]["id"] if rows else None)
    )
    row = next((r for r in rows if r["id"] == job_id), None) or (
        job_rows.get(ctx.engine, job_id) if job_id else None
    )
    stats = {
        r["id"]: generation_stats(ctx.engine, r["id"], r.get("started_at"))
        for r in rows
        if r["kind"] == "generate" and (r["status"] in ACTIVE or r["id"] == job_id)
    }
    if row is not None and row["kind"] == "generate" and row["id"] not in stats:
        stats[row["id"]] = generation_stats(ctx.engine, row["id"], row.get("started_at"))
    summary = job_summary(row, stats.get(row["id"]) if row else None)
    return [job_table(rows, stats=stats), summary, last_log_lines(row), worker_status(ctx)]


def command_box(elem_id: str | None = None) -> gr.Code:
    """The read-only box under a job form that shows the equivalent ``impossible`` command."""
    return gr.Code(
        label="Equivalent command",
        language="shell",
        lines=1,
        max_lines=4,
        interactive=False,
        wrap_lines=True,
        elem_id=elem_id,
    )


# ---- handlers: plain functions of the page's context (``bind`` hands them ``ctx``) ----------------------
def gen_params(ctx: AppContext, teacher, task, source, corpus, contexts, samples, temperature, top_p, seed,
               device, backend="auto", executor="local", ray_address="") -> dict[str, Any]:  # fmt: skip
    """The generate job's parameters from the form's fields (in ``GenerateForm.fields`` order)."""
    return generation_params(teacher=teacher, task=task, context_source=source, corpus=corpus,
                             contexts=contexts, samples=samples, temperature=temperature, top_p=top_p,
                             seed=seed, device=device, upload_dir=ctx.upload_dir, model_roots=ctx.model_roots,
                             backend=backend, executor=executor, ray_address=ray_address)  # fmt: skip


def gen_score_params(
    ctx: AppContext, nli: Any, embedder: Any, batch_size: Any, device: Any
) -> dict[str, Any]:
    return score_params(nli=nli, embedder=embedder, batch_size=batch_size, device=device,
                        model_roots=ctx.model_roots)  # fmt: skip


def preview_generate(ctx: AppContext, *values: Any) -> str:
    return command_preview(lambda: gen_params(ctx, *values), lambda p: generate_command(ctx.db_url, p))


def preview_score(ctx: AppContext, *values: Any) -> str:
    return command_preview(lambda: gen_score_params(ctx, *values), lambda p: score_command(ctx.db_url, p))


@user_errors
def submit_generate(ctx: AppContext, *values: Any) -> list[Any]:
    params = gen_params(ctx, *values)
    corpus_name = _upload_name(params["corpus"]) if params.get("corpus") else None
    validate_submission(params, corpus_name)  # reads the corpus: a bad one is never queued
    if params.get("executor") == "ray":  # Ray missing or unreachable: one sentence, nothing queued
        from pipeline.ray_executor import check_available

        try:
            check_available(params.get("ray_address"))
        except UserError as exc:
            raise FormError(str(exc)) from None
    job = job_rows.submit(ctx.engine, "generate", params)
    return [f"Queued generation job **{job}**.", job, *jobs_view(ctx, job)]


@user_errors
def submit_score(ctx: AppContext, nli: Any, embedder: Any, batch_size: Any, device: Any) -> list[Any]:
    job = job_rows.submit(ctx.engine, "score", gen_score_params(ctx, nli, embedder, batch_size, device))
    return [f"Queued scoring job **{job}**.", job, *jobs_view(ctx, job)]


@user_errors
def upload_corpus(ctx: AppContext, file_path: str | None) -> str:
    if not file_path:
        return ""
    upload = received_upload(file_path, "corpus")
    size = upload.stat().st_size
    if size > ctx.max_upload_bytes:
        raise FormError(
            f"The corpus is {size / 2**20:.1f} MB; the studio accepts at most {ctx.max_upload_bytes / 2**20:g} MB."
        )
    ctx.upload_dir.mkdir(parents=True, exist_ok=True)
    target = ctx.upload_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{upload.name}"
    shutil.copyfile(upload, target)
    try:  # an empty, malformed or binary corpus is refused at upload, not when its job runs
        read_corpus(target, name=upload.name)
    except UserError:
        target.unlink(missing_ok=True)
        raise
    return str(target)


@user_errors
def cancel_job(ctx: AppContext, selected: Any) -> list[Any]:
    job = as_int(selected, "Job", low=1)
    status = job_rows.request_cancel(ctx.engine, job)
    gr.Info(f"Job {job}: {status.replace('_', ' ')}.")
    return jobs_view(ctx, job)


@user_errors
def resume_job(ctx: AppContext, selected: Any) -> list[Any]:
    job = as_int(selected, "Job", low=1)
    row = job_rows.get(ctx.engine, job)
    if row is None:
        raise FormError(f"No job with id {job}.")
    if row["status"] not in ("failed", "cancelled"):
        raise FormError(
            f"Job {job} is {row['status']}; only a failed or cancelled job can be resumed (a job whose worker died resumes by itself)."
        )
    job_rows.requeue(ctx.engine, job)
    gr.Info(f"Job {job} queued again; it continues from its last committed batch.")
    return jobs_view(ctx, job)


def pick_job(evt: gr.SelectData, rows: Any) -> Any:
    row_index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return rows.iloc[row_index, 0] if hasattr(rows, "iloc") else rows[row_index][0]


def newest_job(ctx: AppContext) -> list[Any]:
    rows = job_rows.recent(ctx.engine, 1)
    newest = rows[0]["id"] if rows else None
    return [newest, *jobs_view(ctx, newest)]


# ---- layout ---------------------------------------------------------------------------------------------
@dataclass
class GenerateForm:
    fields: list[Any]  # in ``gen_params`` order
    kept: list[Any]  # what the browser keeps (the corpus is not kept: upload it again)
    corpus_file: gr.File
    corpus: gr.Textbox
    source: gr.Radio
    command: gr.Code
    start: gr.Button
    message: gr.Markdown


@dataclass
class ScoreForm:
    fields: list[Any]  # in ``submit_score`` order
    command: gr.Code
    start: gr.Button
    message: gr.Markdown


@dataclass
class JobsList:
    job_id: gr.Number
    outputs: list[Any]  # table, detail, log, worker line: what ``jobs_view`` returns
    table: gr.Dataframe
    cancel: gr.Button
    resume: gr.Button


def generate_form() -> GenerateForm:
    gr.Markdown("#### 1 · Generate candidate pairs")
    teacher = gr.Textbox(
        G["teacher"].default, label="Teacher (embedded = SmolLM2-135M, a hub id, a folder or a .gguf)"
    )
    with gr.Row():
        task = gr.Radio(list(TASKS), value=G["task"].default, label="Task")
        source = gr.Radio([("teacher (news datelines)", "teacher"), ("uploaded corpus", "corpus")],
                          value="teacher", label="Contexts from")  # fmt: skip
    gr.Markdown(
        "Teacher contexts start from random news datelines such as `(CNN) --`, `Egypt (Reuters) --` "
        "or `CAIRO, Egypt (AP) --`; a corpus brings your own (one per line, or JSONL).",
        elem_classes="id-hint",
    )
    with gr.Row(equal_height=True):
        corpus_file = gr.File(label="Corpus (.txt one context per line, or .jsonl with a text field)",
                              file_types=[".txt", ".jsonl"], scale=2)  # fmt: skip
        corpus = gr.Textbox(label="Uploaded corpus on the server", interactive=False, scale=2)
    with gr.Row():
        contexts = gr.Number(G["contexts"].default, label="Contexts")
        samples = gr.Number(G["samples"].default, label="Samples per context")
        seed = gr.Number(G["seed"].default, label="Seed")
    with gr.Row():
        temperature = gr.Number(G["temperature"].default, label="Temperature")
        top_p = gr.Number(G["top_p"].default, label="Top-p")
        device = gr.Dropdown(list(DEVICES), value=G["device"].default, label="Device")
        backend = gr.Dropdown(list(BACKENDS), value=G["backend"].default, label="Backend",
                              info="auto: ctranslate2 on CPU, vllm on CUDA when installed, else torch")  # fmt: skip
    with gr.Row():
        executor = gr.Radio([("local (the studio's worker)", "local"), ("Ray cluster", "ray")], value="local",
                            label="Executor",
                            info="ray: the job's batches run on the actors of a Ray cluster (README: scale-out on Ray)")  # fmt: skip
        ray_address = gr.Textbox("", label="Ray address (with Ray; empty = the cluster `ray start` runs on this machine)",
                                 placeholder="auto or HOST:6379")  # fmt: skip
    command = command_box("generate-command")
    start = gr.Button("Start generation", variant="primary")
    message = gr.Markdown(elem_id="generate-message")
    fields = [teacher, task, source, corpus, contexts, samples, temperature, top_p, seed, device, backend,
              executor, ray_address]  # fmt: skip
    kept = [teacher, task, contexts, samples, temperature, top_p, seed, device]
    return GenerateForm(fields, kept, corpus_file, corpus, source, command, start, message)


def score_form() -> ScoreForm:
    gr.Markdown("#### 2 · Score the pairs")
    nli = gr.Textbox("", label="NLI model (hub id or folder; empty = none)", placeholder=nli_placeholder())
    gr.Markdown(nli_note(), elem_classes="id-hint")
    embedder = gr.Textbox(
        S["embedder"].default, label="Embedder (embedded = all-MiniLM-L6-v2, a hub id, a folder, or none)"
    )
    with gr.Row():
        batch_size = gr.Number(S["batch_size"].default, label="Pairs per batch")
        device = gr.Dropdown(list(DEVICES), value=S["device"].default, label="Device")
    command = command_box("score-command")
    start = gr.Button("Start scoring", variant="primary")
    message = gr.Markdown(elem_id="score-message")
    return ScoreForm([nli, embedder, batch_size, device], command, start, message)


def jobs_list() -> JobsList:
    gr.Markdown("#### Jobs")
    worker_md = gr.Markdown(elem_classes="id-hint", elem_id="worker-status")
    table = gr.Dataframe(
        headers=JOB_COLUMNS,
        interactive=False,
        wrap=True,  # the error column wraps instead of being cut off
        column_widths=JOB_WIDTHS,
        elem_id="jobs-table",
    )
    with gr.Row(equal_height=False):
        job_id = gr.Number(None, label="Job", precision=0, scale=1)
        cancel = gr.Button("Cancel job", variant="stop", scale=1)
        resume = gr.Button("Resume job", scale=1)
    with gr.Row(equal_height=False):
        detail = gr.Markdown()
        log_box = gr.Textbox(
            label="Last log lines", lines=8, max_lines=12, interactive=False, autoscroll=True
        )
    return JobsList(job_id, [table, detail, log_box, worker_md], table, cancel, resume)


def render(ctx: AppContext) -> None:
    with gr.Row(equal_height=False):
        with gr.Column():
            gen = generate_form()
        with gr.Column():
            score = score_form()
    jobs = jobs_list()
    wire_forms(ctx, gen, score, jobs)
    wire_jobs(ctx, jobs)


def wire_forms(ctx: AppContext, gen: GenerateForm, score: ScoreForm, jobs: JobsList) -> None:
    """The two job forms: command previews, upload, submit; their values kept in the browser."""
    for field in gen.fields:
        field.change(bind(preview_generate, ctx), gen.fields, gen.command, api_visibility="private",
                     show_progress="hidden")  # fmt: skip
    for field in score.fields:
        field.change(bind(preview_score, ctx), score.fields, score.command, api_visibility="private",
                     show_progress="hidden")  # fmt: skip
    gen.corpus_file.upload(
        bind(upload_corpus, ctx), gen.corpus_file, gen.corpus, api_name="upload_corpus"
    ).then(lambda path: "corpus" if path else "teacher", gen.corpus, gen.source, api_visibility="private")
    gen.start.click(bind(submit_generate, ctx), gen.fields, [gen.message, jobs.job_id, *jobs.outputs],
                    api_name="start_generate", preprocess=False)  # fmt: skip
    score.start.click(bind(submit_score, ctx), score.fields, [score.message, jobs.job_id, *jobs.outputs],
                      api_name="start_score", preprocess=False)  # fmt: skip
    # the user's last choices come back on reload; a restored field's change event redraws its command,
    # so the first values' commands are drawn here, not on page load
    remember(ctx, "generate", gen.kept)
    remember(ctx, "score", score.fields)
    gen.command.value = preview_generate(ctx, *(field.value for field in gen.fields))
    score.command.value = preview_score(ctx, *(field.value for field in score.fields))


def wire_jobs(ctx: AppContext, jobs: JobsList) -> None:
    """The job list: polled, filled on page load, a row click picks a job to cancel or resume."""
    jobs.cancel.click(
        bind(cancel_job, ctx), jobs.job_id, jobs.outputs, api_name="cancel_job", preprocess=False
    )
    jobs.resume.click(
        bind(resume_job, ctx), jobs.job_id, jobs.outputs, api_name="resume_job", preprocess=False
    )
    jobs.table.select(pick_job, jobs.table, jobs.job_id, api_visibility="private").then(
        bind(jobs_view, ctx), jobs.job_id, jobs.outputs, api_visibility="private"
    )
    gr.Timer(POLL_S).tick(bind(jobs_view, ctx), jobs.job_id, jobs.outputs, api_name="list_jobs",
                          show_progress="hidden", preprocess=False)  # fmt: skip
    on_open(ctx, bind(newest_job, ctx), [], [jobs.job_id, *jobs.outputs], api_visibility="private")
