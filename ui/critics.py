"""Critics page: how well each critic agrees with your labels (AUC with its 95% interval, precision and
recall at the current recipe, the cut for a target precision, and a button that puts that cut into the
Curate recipe), and "Train a critic from my labels" (a durable ``critic`` job, then a score job that fills
the ``learned`` column). Handlers only call ``curation.agreement`` and queue jobs.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr

from curation.agreement import agreement, curves
from curation.export import safe_export_path
from db import jobs as job_rows
from db.types import TASKS
from pipeline.critic_job import check_params
from ui.common import current_recipe, user_errors
from ui.context import AppContext, bind
from ui.forms import FormError, as_float, choice
from ui.plots import agreement_curves_html

AGREEMENT_COLUMNS = [
    "critic", "scored", "unscored", "AUC", "95% interval", "recipe", "precision", "recall",
    "cut for target", "its precision", "its recall",
]  # fmt: skip
DEFAULT_CRITIC_NAME = "studio"


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None or value != value else f"{value:.{digits}f}"


def agreement_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """One table row per score column, formatted for reading."""
    out = []
    for r in rows:
        sign = {"min": "≥", "max": "≤"}.get(r["target_bound"] or "", "")
        cut = f"{sign} {r['target_threshold']:.3f}" if r["target_threshold"] is not None else "—"
        interval = f"[{_num(r['auc_low'])}, {_num(r['auc_high'])}]" if r["scored"] else "—"
        out.append(
            [
                r["column"], r["scored"], r["unscored"], _num(r["auc"]), interval, r["recipe_check"] or "—",
                _num(r["precision"], 2), _num(r["recall"], 2), cut, _num(r["target_precision"], 2),
                _num(r["target_recall"], 2),
            ]
        )  # fmt: skip
    return out


def critics_root(ctx: AppContext) -> Path:
    """Where the studio writes critics: ``critics/`` beside the export folder (names cannot leave it)."""
    root = ctx.export_dir.parent / "critics"
    root.mkdir(parents=True, exist_ok=True)
    return root


@user_errors
def compute_agreement(ctx: AppContext, target_value: Any, recipe_value: dict | None) -> list[Any]:
    goal = as_float(target_value, "Target precision", low=0.01, high=1.0)
    recipe = current_recipe(ctx.engine, recipe_value)
    rows = agreement(ctx.engine, recipe, target=goal)
    found = {
        r["column"]: [r["target_bound"], r["target_threshold"]]
        for r in rows
        if r["target_threshold"] is not None
    }
    head = f"**{rows[0]['labelled']:,}** labelled {recipe.task} pairs · recipe `{recipe.hash}`"
    first = next(iter(found), None)
    plots_html = agreement_curves_html(curves(ctx.engine, recipe))
    return [head, agreement_rows(rows), plots_html, found, gr.Dropdown(choices=list(found), value=first)]


@user_errors
def use_threshold(
    ctx: AppContext, column_value: str, found: dict, recipe_value: dict | None, *view: Any
) -> list[Any]:
    if not column_value or column_value not in (found or {}):
        raise FormError("Compute agreement first, then pick a critic whose cut reaches the target.")
    bound, value = found[column_value]
    recipe = current_recipe(ctx.engine, recipe_value).with_threshold(bound, column_value, round(value, 3))
    return ctx.curate.show_recipe(recipe, *view)


def critic_params(ctx: AppContext, folder_value: str, task_value: str) -> dict[str, Any]:
    out = safe_export_path(critics_root(ctx), (folder_value or "").strip())
    params = {"out": str(out), "task": choice(task_value, "Task", TASKS)}
    try:
        check_params(params)
    except Exception as exc:  # UserError
        raise FormError(str(exc)) from None
    return params


@user_errors
def start_training(ctx: AppContext, folder_value: str, task_value: str) -> str:
    job = job_rows.submit(ctx.engine, "critic", critic_params(ctx, folder_value, task_value))
    return f"Queued critic job **{job}**; when it is done, press *Score pairs with this critic*."


@user_errors
def start_scoring(ctx: AppContext, folder_value: str, task_value: str) -> str:
    params = critic_params(ctx, folder_value, task_value)
    job = job_rows.submit(ctx.engine, "score", {"critic": params["out"]})
    return f"Queued score job **{job}**: it fills `learned` for every pair that lacks it."


def layout(ctx: AppContext) -> SimpleNamespace:
    """The page's components, by name."""
    recipe_state = ctx.recipe or gr.State(None)
    cuts = gr.State({})
    gr.Markdown(
        "#### Agreement with your labels\nEach critic against the human labels of the recipe's task (Review "
        "page, or a labelled import). AUC 0.5 = chance, 1.0 = every accepted pair scores better than every "
        "rejected one. Unscored labelled pairs are counted, not mixed in.",
    )
    with gr.Row(equal_height=True):
        target = gr.Number(0.9, label="Target precision", minimum=0.01, maximum=1.0, step=0.01, scale=1)
        compute = gr.Button("Compute agreement", variant="primary", scale=1)
        column = gr.Dropdown([], label="Critic", scale=1)
        use = gr.Button("Use this threshold in Curate", scale=1)
    summary = gr.Markdown()
    table = gr.Dataframe(headers=AGREEMENT_COLUMNS, interactive=False, wrap=True)
    plots = gr.HTML()
    gr.Markdown(
        "#### Train a critic from my labels\nQueues a durable `critic` job (logistic regression over the "
        "scores and the embedder's sentence vectors; needs 20 labels, 5 of each kind), then a score job that "
        "writes its p(accept) into the `learned` column. Both appear in the Generate page's job list.",
    )
    with gr.Row(equal_height=True):
        folder = gr.Textbox(
            DEFAULT_CRITIC_NAME, label=f"Critic name (a folder in {critics_root(ctx)})", scale=2
        )
        task = gr.Dropdown(list(TASKS), value="paraphrase", label="Labels of task", scale=1)
        train = gr.Button("Train a critic from my labels", variant="primary", scale=1)
        score = gr.Button("Score pairs with this critic", scale=1)
    train_msg = gr.Markdown()
    return SimpleNamespace(**{k: v for k, v in locals().items() if k != "ctx"})


def render(ctx: AppContext) -> None:
    ui = layout(ctx)

    ui.compute.click(
        bind(compute_agreement, ctx),
        [ui.target, ui.recipe_state],
        [ui.summary, ui.table, ui.plots, ui.cuts, ui.column],
        api_name="agreement",
    )
    ui.train.click(bind(start_training, ctx), [ui.folder, ui.task], ui.train_msg, api_name="train_critic")
    ui.score.click(bind(start_scoring, ctx), [ui.folder, ui.task], ui.train_msg, api_name="score_with_critic")
    if ctx.curate is not None:
        curate = ctx.curate
        ui.use.click(
            bind(use_threshold, ctx),
            [ui.column, ui.cuts, ui.recipe_state, *curate.inputs],
            curate.outputs,
            api_name="use_threshold",
        )
    else:
        ui.use.visible = False
