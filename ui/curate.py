"""Curate page: one control per critic, a histogram per score with its threshold, the live survivor count,
per-critic attribution and a paged table of kept or rejected pairs with a word diff.

Every move reads the cached in-memory ``ScoreFrame`` (no model, no full-table query) plus one page of pair
text. The recipe the controls describe is published to the other pages as ``ctx.recipe``.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import gradio as gr

from curation.frame import get_frame
from curation.recipe import Recipe
from curation.search import MAX_SEARCH_CHARS, clean_search
from curation.stats import page, shown_count, summarize
from curation.templates import with_templates
from db.types import TASKS
from ui.common import default_recipe, semantic_note, user_errors
from ui.context import AppContext, CurateView, bind, on_open, on_page_load
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


#: How many recipe controls the page has (task, dedup, numbers, then a switch and a slider per threshold).
N_CONTROLS = 3 + 2 * len(THRESHOLDS)


@user_errors
def update(ctx: AppContext, *values: Any) -> list[Any]:
    """The view for the controls' values followed by which, sort, page number and the search."""
    recipe = recipe_from_controls(values[:N_CONTROLS])
    which_value, sort_value, number, *search_value = values[N_CONTROLS:]
    return curate_view(ctx, recipe, which_value, sort_value, number, *search_value)


def step(ctx: AppContext, delta: int) -> Any:
    """``update`` on the page ``delta`` pages on."""
    return lambda *values: update(ctx, *values[:-2], as_int(values[-2] or 1, "Page") + delta, values[-1])


@user_errors
def reset_recipe(
    ctx: AppContext, task_value: str, which_value: str, sort_value: str, search_value: str = ""
) -> list[Any]:
    recipe = default_recipe(get_frame(ctx.engine), choice(task_value, "Task", TASKS))
    return controls_from_recipe(recipe) + curate_view(ctx, recipe, which_value, sort_value, 1, search_value)


@user_errors
def open_curate(
    ctx: AppContext, task_value: str, which_value: str, sort_value: str, saved: Any = None
) -> list[Any]:
    """On opening the page: the thresholds the browser kept from the last visit, else the default recipe."""
    recipe = saved_recipe(ctx.engine, saved, choice(task_value, "Task", TASKS))
    return controls_from_recipe(recipe) + curate_view(ctx, recipe, which_value, sort_value, 1)


def show_recipe(ctx: AppContext, recipe: Recipe, which_value: str, sort_value: str) -> list[Any]:
    """Values for ``controls + outputs`` showing ``recipe`` (used by the Versions and Critics pages)."""
    return controls_from_recipe(recipe) + curate_view(ctx, recipe, which_value, sort_value, 1)


def kept(ctx: AppContext, saved: Any) -> Any:
    """At page load, the recipe the browser kept, for the Review and Versions pages to use before
    Curate is opened (nothing kept: they use the default recipe, as Curate would)."""
    return saved_recipe(ctx.engine, saved, "paraphrase").to_dict() if isinstance(saved, dict) else gr.skip()


def keep(ctx: AppContext, value: Any) -> Any:
    """What the browser keeps: the recipe, or nothing while it is the default one (so the default
    follows the data, e.g. NLI thresholds once an NLI model has scored the pairs)."""
    if not value:
        return None
    recipe = Recipe.from_dict(value)
    return None if recipe.hash == default_recipe(get_frame(ctx.engine), recipe.task).hash else value


def layout(ctx: AppContext) -> SimpleNamespace:
    """The page's components, by name; ``controls`` are the recipe's (task, switches, sliders)."""
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
    kept_recipe = browser_store(ctx, "curate")  # the unsaved thresholds survive a reload
    return SimpleNamespace(
        **{k: v for k, v in locals().items() if k not in ("ctx", "t", "enabled", "slider")}
    )


def render(ctx: AppContext) -> None:
    ui = layout(ctx)
    controls = ui.controls
    ctx.recipe = ui.recipe_state
    outputs = [
        ui.summary_md,
        ui.hist_html,
        ui.critic_table,
        ui.table,
        ui.page_number,
        ui.page_info,
        ui.recipe_state,
    ]
    view_inputs = [*controls, ui.which, ui.sort, ui.page_number, ui.search]
    gr.on(
        [c.input for c in controls[1:]]
        + [ui.which.change, ui.sort.change, ui.page_number.submit, ui.search.submit],
        bind(update, ctx),
        inputs=view_inputs,
        outputs=outputs,
        api_name="curate",
        preprocess=False,
        trigger_mode="always_last",
        show_progress="hidden",
    )
    ui.prev_btn.click(step(ctx, -1), view_inputs, outputs, api_name="curate_prev_page", preprocess=False)
    ui.next_btn.click(step(ctx, +1), view_inputs, outputs, api_name="curate_next_page", preprocess=False)
    reset_inputs = [ui.task, ui.which, ui.sort, ui.search]
    ui.reset.click(bind(reset_recipe, ctx), reset_inputs, controls + outputs, api_name="reset_recipe",
                   preprocess=False)  # fmt: skip
    on_open(ctx, bind(open_curate, ctx), [ui.task, ui.which, ui.sort, ui.kept_recipe], controls + outputs,
            api_name="load_curate", preprocess=False)  # fmt: skip
    if not ctx.first_page:
        on_page_load(ctx, bind(kept, ctx), [ui.kept_recipe], [ui.recipe_state])
    ui.task.input(bind(reset_recipe, ctx), reset_inputs, controls + outputs, api_name="curate_task",
                  preprocess=False)  # fmt: skip
    ui.recipe_state.change(bind(keep, ctx), ui.recipe_state, ui.kept_recipe, api_visibility="private",
                           show_progress="hidden")  # fmt: skip
    ctx.curate = CurateView(bind(show_recipe, ctx), [ui.which, ui.sort], controls + outputs)
