"""Overview page, the studio's front page: what the database holds, which jobs are active, whether the job
worker runs, and where each step lives. It is deliberately light (a few Markdown blocks) so the studio
opens fast; each other page is its own route that the browser loads when it is opened.
"""

from __future__ import annotations

import gradio as gr

from db import jobs as job_rows
from db.queries import dataset_counts
from ui.context import AppContext, bind, on_open
from ui.generate import worker_status
from ui.jobview import ACTIVE, progress_text

#: The studio's steps as a table linking each route of ``ui.ROUTES`` (relative links: a root path is kept).
GUIDE = """\
| Step | Page | What you do there |
|---|---|---|
| 1 | [Generate](generate) | queue generation and scoring jobs; watch, cancel or resume every job |
| 2 | [Curate](curate) | tune the critics' thresholds; **Review** labels pairs, **Critics** learns from the labels, **Versions** saves, compares, imports and exports |
| 3 | [Train](train) | train a student on a saved version; **Evaluate** scores students on a benchmark |
"""


def overview_view(ctx: AppContext) -> list[str]:
    """The database's counts with the active jobs, and the worker's state line."""
    counts = dataset_counts(ctx.engine)
    active = [row for row in job_rows.recent(ctx.engine, 30) if row["status"] in ACTIVE]
    lines = [
        f"**{counts['contexts']:,}** contexts · **{counts['sentences']:,}** sentences · "
        f"**{counts['pairs']:,}** candidate pairs"
    ]
    if active:
        lines += ["", f"**{len(active)} active job(s)** (details on the Generate page):"]
        lines += [f"- job {row['id']} · {row['kind']} · {progress_text(row)}" for row in active]
    else:
        lines += ["", "No job is queued or running."]
    return ["\n".join(lines), worker_status(ctx)]


def render(ctx: AppContext) -> None:
    counts = gr.Markdown(elem_id="overview-counts")
    worker = gr.Markdown(elem_classes="id-hint", elem_id="worker-status")
    gr.Markdown(GUIDE)
    on_open(ctx, bind(overview_view, ctx), [], [counts, worker], api_name="overview", queue=False,
            show_progress="hidden")  # fmt: skip
