"""Curate page: one control per critic, a histogram per score with its threshold, the live survivor count,
per-critic attribution and a paged table of kept or rejected pairs with a word diff.

Every move reads the cached in-memory ``ScoreFrame`` (no model, no full-table query) plus one page of pair
text. The recipe the controls describe is published to the other pages as ``ctx.recipe``.
"""

from __future__ import annotations

import math
from typing import Any

import gradio as gr

from curation.frame import get_frame
from curation.recipe import Recipe
from curation.search import MAX_SEARCH_CHARS, clean_search
from curation.stats import page, shown_count, summarize
from curation.templates import with_templates
from pipeline.types import TASKS
from ui.common import default_recipe, semantic_note, user_errors
from ui.context import AppContext, CurateView, on_open, on_page_load
from ui.form_state import browser_store
from ui.forms import as_int, choice
from ui.plots import histograms_html
from ui.recipe_controls import THRESHOLDS, controls_from_recipe, recipe_from_controls
from ui.tables import CRITIC_COLUMNS, critic_rows, headline, pairs_table_html

PAGE_SIZE = 15
SORTS = [
    ("id (oldest first)", "id"),
    ("id (newest first)", "-id"),
    ("NLI ⇒ (lowest first)", "nli_forward"),
    ("NLI ⇒ (highest first)", "-nli_forward"),
    ("ROUGE-L (highest first)", "-rouge_l"),
    ("ROUGE-L (lowest first)", "rouge_l"),
    ("Embedding cosine (lowest first)", "embed_cosine"),
    ("Embedding cosine (highest first)", "-embed_cosine"),
    ("Length ratio (lowest first)", "length_ratio"),
    ("Length ratio (highest first)", "-length_ratio"),
    ("Tree edit distance (lowest first)", "ted"),
    ("Tree edit distance (highest first)", "-ted"),
]
SORT_VALUES = tuple(value for _, value in SORTS)


def curate_view(
    ctx: AppContext, recipe: Recipe, which: str, sort: str, page_number: Any, search: Any = ""
) -> list[Any]:
    """Everything right of the controls for ``recipe``: headline, histograms, critic table, one table page
    (of the pairs containing ``search``, when given), the page counter and the recipe (for the other
    pages)."""
    which = choice(which, "Show", ("kept", "rejected"))
    sort = choice(sort, "Sort", SORT_VALUES)
    search = clean_search(str(search or ""))
    frame = get_frame(ctx.engine)
    summary = summarize(frame, recipe)
    shown = shown_count(frame, recipe, which, search)
    pages = max(1, math.ceil(shown / PAGE_SIZE))
    number = min(max(as_int(page_number or 1, "Page"), 1), pages)
    rows = page(frame, recipe, which, (number - 1) * PAGE_SIZE, PAGE_SIZE, sort, search=search)
    rows = with_templates(ctx.engine, rows)
    matching = f" containing “{search}”" if search else ""
    return [
        headline(summary, semantic_note(frame, recipe.task)),
        histograms_html(summary["histograms"]),
        critic_rows(summary),
        pairs_table_html(rows, which),
        number,
        f"page {number} of {pages} · {shown:,} {which} pairs{matching}",
        recipe.to_dict(),
    ]


def saved_recipe(engine: Any, saved: Any, task: str) -> Recipe:
    """The recipe the browser kept from the last visit, or the default one when there is none (or it no
    longer reads as a recipe)."""
    if isinstance(saved, dict):
        try:
            return Recipe.from_dict(saved)
        except (ValueError, KeyError, TypeError):
            pass
    return default_recipe(get_frame(engine), task)


def render(ctx: AppContext) -> None:
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=340):
            gr.Markdown("#### Critics")
            task = gr.Radio(list(TASKS), value="paraphrase", label="Task")
            controls: list[gr.components.Component] = [task]
            dedup = gr.Checkbox(True, label="Dedup: keep one pair per equivalence group")
            numbers = gr.Checkbox(True, label="Numbers: every number in the target appears in the source")
            controls += [dedup, numbers]
            for t in THRESHOLDS:
                with gr.Column(variant="panel", elem_classes="id-critic"):
                    enabled = gr.Checkbox(True, label=t.label, container=False)
                    slider = gr.Slider(
                        t.low,
                        t.high,
                        value=t.fallback,
                        step=t.step,
                        label=t.label,  # not shown (the checkbox says it), but read out by screen readers
                        show_label=False,
                        elem_id=f"threshold-{t.bound}-{t.column}",
                    )
                controls += [enabled, slider]
            reset = gr.Button("Reset to the default recipe", size="sm")
        with gr.Column(scale=3):
            summary_md = gr.Markdown(elem_id="curate-count", elem_classes="id-count")
            hist_html = gr.HTML()
            critic_table = gr.Dataframe(
                headers=CRITIC_COLUMNS, label="What each critic does", interactive=False, wrap=True
            )
    with gr.Row(equal_height=False):
        which = gr.Radio(["kept", "rejected"], value="kept", label="Show", scale=1)
        sort = gr.Dropdown(SORTS, value="id", label="Sort", scale=2)
        page_number = gr.Number(1, label="Page", precision=0, scale=1, minimum=None)
        prev_btn = gr.Button("◀ Previous", size="sm", scale=1)
        next_btn = gr.Button("Next ▶", size="sm", scale=1)
    search = gr.Textbox(
        "",
        label="Search pairs (text in the source or target; Enter to apply)",
        placeholder="e.g. Senate",
        max_length=MAX_SEARCH_CHARS,
        elem_id="curate-search",
    )
    page_info = gr.Markdown(elem_id="curate-page-info")
    table = gr.HTML(elem_id="curate-table")
    recipe_state = gr.State(None)
    ctx.recipe = recipe_state
    kept_recipe = browser_store(ctx, "curate")  # the unsaved thresholds survive a reload

    outputs = [summary_md, hist_html, critic_table, table, page_number, page_info, recipe_state]

    @user_errors
    def update(*values: Any) -> list[Any]:
        recipe = recipe_from_controls(values[: len(controls)])
        which_value, sort_value, number, *search_value = values[len(controls) :]
        return curate_view(ctx, recipe, which_value, sort_value, number, *search_value)

    @user_errors
    def reset_recipe(task_value: str, which_value: str, sort_value: str, search_value: str = "") -> list[Any]:
        recipe = default_recipe(get_frame(ctx.engine), choice(task_value, "Task", TASKS))
        return controls_from_recipe(recipe) + curate_view(
            ctx, recipe, which_value, sort_value, 1, search_value
        )

    @user_errors
    def open_curate(task_value: str, which_value: str, sort_value: str, saved: Any = None) -> list[Any]:
        """On page load: the thresholds the browser kept from the last visit, else the default recipe."""
        recipe = saved_recipe(ctx.engine, saved, choice(task_value, "Task", TASKS))
        return controls_from_recipe(recipe) + curate_view(ctx, recipe, which_value, sort_value, 1)

    def show_recipe(recipe: Recipe, which_value: str, sort_value: str) -> list[Any]:
        """Values for ``controls + outputs`` showing ``recipe`` (used by the Versions page's "load")."""
        return controls_from_recipe(recipe) + curate_view(ctx, recipe, which_value, sort_value, 1)

    view_inputs = [*controls, which, sort, page_number, search]
    gr.on(
        [c.input for c in controls[1:]] + [which.change, sort.change, page_number.submit, search.submit],
        update,
        inputs=view_inputs,
        outputs=outputs,
        api_name="curate",
        preprocess=False,
        trigger_mode="always_last",
        show_progress="hidden",
    )

    def step(delta: int) -> Any:
        return lambda *values: update(*values[:-2], as_int(values[-2] or 1, "Page") + delta, values[-1])

    prev_btn.click(step(-1), view_inputs, outputs, api_name="curate_prev_page", preprocess=False)
    next_btn.click(step(+1), view_inputs, outputs, api_name="curate_next_page", preprocess=False)
    reset.click(
        reset_recipe,
        [task, which, sort, search],
        controls + outputs,
        api_name="reset_recipe",
        preprocess=False,
    )
    on_open(ctx, open_curate, [task, which, sort, kept_recipe], controls + outputs, api_name="load_curate",
            preprocess=False)  # fmt: skip

    def kept(saved: Any) -> Any:
        """At page load, the recipe the browser kept, for the Review and Versions pages to use before
        Curate is opened (nothing kept: they use the default recipe, as Curate would)."""
        return (
            saved_recipe(ctx.engine, saved, "paraphrase").to_dict() if isinstance(saved, dict) else gr.skip()
        )

    if not ctx.first_page:
        on_page_load(ctx, kept, [kept_recipe], [recipe_state])
    task.input(
        reset_recipe,
        [task, which, sort, search],
        controls + outputs,
        api_name="curate_task",
        preprocess=False,
    )

    def keep(value: Any) -> Any:
        """What the browser keeps: the recipe, or nothing while it is the default one (so the default
        follows the data, e.g. NLI thresholds once an NLI model has scored the pairs)."""
        if not value:
            return None
        recipe = Recipe.from_dict(value)
        return None if recipe.hash == default_recipe(get_frame(ctx.engine), recipe.task).hash else value

    recipe_state.change(keep, recipe_state, kept_recipe, api_visibility="private", show_progress="hidden")
    ctx.curate = CurateView(show_recipe, [which, sort], controls + outputs)
