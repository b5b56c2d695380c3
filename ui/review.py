"""Review page: spot-check pairs one at a time (keys a = accept, r = reject, s = skip), with a note.

The queue is either a random sample of the current survivors (its labels give an unbiased precision
estimate, shown with a 95% interval) or the pairs nearest a threshold (to place the cut). A label
overrides the critics in every later selection.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from curation.review import labelled_among, precision_estimate, review_queue, set_label
from curation.search import MAX_SEARCH_CHARS, clean_search
from curation.templates import with_templates
from db.queries import pairs_by_id
from ui.common import current_recipe, user_errors
from ui.context import AppContext, bind
from ui.forms import as_int, choice
from ui.shortcuts import KEY_TO_BUTTON
from ui.tables import pair_card_html, precision_text

QUEUE_SIZE = 50
MODES = [("random sample of survivors (unbiased precision)", "random"), ("nearest a threshold", "boundary")]


GUIDELINES = """**Guidelines.** **Accept** when the target says what the source says in other words (for a summary:
shorter, keeping the main point): no fact added, changed or contradicted, names and numbers kept.
**Reject** when it adds, changes or loses a fact, contradicts the source, or barely rewords it.
**Skip** when you cannot tell. A label overrides the critics in every later selection and survives
re-scoring. Keys (when the focus is not in the note box): **a** accept · **r** reject · **s** skip."""


def _empty_queue(mode: str, labelled: int = 0) -> dict[str, Any]:
    """A queue with no pairs; ``labelled`` (this session's count) carries over from the previous one."""
    return {"mode": mode, "ids": [], "pos": 0, "labelled": labelled}


def queue_progress_html(done: int, size: int) -> str:
    """The "n labelled of N in queue" bar."""
    if not size:
        return '<p class="id-hint">No pairs in the queue.</p>'
    return (
        f'<div class="id-progress"><progress value="{done}" max="{size}" aria-label="queue progress"></progress>'
        f" <span>{done} labelled of {size} in queue</span></div>"
    )


def show(ctx: AppContext, queue: dict[str, Any], recipe_value: dict | None) -> list[Any]:
    """Card, position, session count, queue progress, precision and cleared note for the pair at the
    queue's position."""
    recipe = current_recipe(ctx.engine, recipe_value)
    ids, pos = queue["ids"], queue["pos"]
    row = None
    if pos < len(ids):
        found = pairs_by_id(ctx.engine, [ids[pos]])
        row = {**with_templates(ctx.engine, found)[0], "queue": queue["mode"]} if found else None
    position = f"{pos + 1} of {len(ids)}" if row else ""
    search = f" · pairs containing “{queue['search']}”" if queue.get("search") else ""
    status = f"{queue['labelled']} labelled in this session · queue: {queue['mode']}{search}"
    return [
        queue,
        pair_card_html(row, recipe, position),
        status,
        queue_progress_html(labelled_among(ctx.engine, ids), len(ids)),
        precision_text(precision_estimate(ctx.engine, recipe)),
        "",
    ]


@user_errors
def new_queue(
    ctx: AppContext,
    mode_value: str,
    recipe_value: dict | None,
    search_value: str = "",
    queue: dict | None = None,
) -> list[Any]:
    """Draw a queue; the session's label count goes on from ``queue`` (the one it replaces)."""
    mode_value = choice(mode_value, "Queue", ("random", "boundary"))
    search_value = clean_search(search_value)
    recipe = current_recipe(ctx.engine, recipe_value)
    rows = review_queue(ctx.engine, recipe, mode_value, QUEUE_SIZE, search=search_value)
    labelled = (queue or {}).get("labelled", 0)
    queue = {**_empty_queue(mode_value, labelled), "ids": [r["id"] for r in rows]}
    queue |= {"recipe_hash": recipe.hash, "search": search_value}
    return show(ctx, queue, recipe_value)


@user_errors
def open_page(
    ctx: AppContext, queue: dict[str, Any], mode_value: str, recipe_value: dict | None, search_value: str = ""
) -> list[Any]:
    """On opening the tab: a fresh queue when the Curate recipe (or the search) changed since this
    one was drawn."""
    recipe_hash = current_recipe(ctx.engine, recipe_value).hash
    if (queue.get("recipe_hash"), queue.get("search", "")) != (recipe_hash, clean_search(search_value)):
        return new_queue(ctx, mode_value, recipe_value, search_value, queue)
    return show(ctx, queue, recipe_value)


def decide(ctx: AppContext, decision: str | None) -> Any:
    """The Accept / Reject (``decision``) or Skip (``None``) handler: label the shown pair, show the next."""

    @user_errors
    def handler(
        note_value: str, queue: dict[str, Any], mode_value: str, recipe_value: dict | None
    ) -> list[Any]:
        if queue["pos"] >= len(queue["ids"]):
            gr.Warning("Nothing to label: the queue is empty. Press 'New queue'.")
            return show(ctx, queue, recipe_value)
        if decision is not None:
            set_label(ctx.engine, queue["ids"][queue["pos"]], decision, note_value or "", queue["mode"])
        queue = {**queue, "pos": queue["pos"] + 1, "labelled": queue["labelled"] + (decision is not None)}
        if queue["pos"] >= len(queue["ids"]):
            return new_queue(ctx, queue["mode"], recipe_value, queue.get("search", ""), queue)
        return show(ctx, queue, recipe_value)

    return handler


def render(ctx: AppContext) -> None:
    recipe_state = ctx.recipe or gr.State(None)
    queue_state = gr.State(_empty_queue("random"))
    with gr.Row(equal_height=True):
        mode = gr.Radio(MODES, value="random", label="Queue", scale=3)
        search = gr.Textbox(
            "",
            label="Only pairs containing (source or target; Enter to apply)",
            max_length=MAX_SEARCH_CHARS,
            scale=2,
            elem_id="review-search",
        )
        load = gr.Button("New queue", scale=1)
    precision_md = gr.Markdown(elem_id="review-precision")
    progress = gr.HTML(elem_id="review-progress")
    card = gr.HTML(elem_id="review-card")
    note = gr.Textbox(label="Note (optional, saved with the label)", lines=1, elem_id="review-note")
    with gr.Row():
        accept = gr.Button("Accept  [a]", variant="primary", elem_id=KEY_TO_BUTTON["a"])
        reject = gr.Button("Reject  [r]", variant="stop", elem_id=KEY_TO_BUTTON["r"])
        skip = gr.Button("Skip  [s]", elem_id=KEY_TO_BUTTON["s"])
    status = gr.Markdown(elem_classes="id-hint", elem_id="review-status")
    gr.Markdown(GUIDELINES, elem_classes="id-hint", elem_id="review-guidelines")
    outputs = [queue_state, card, status, progress, precision_md, note]

    @user_errors
    def label_pair(pair_id: int, decision: str, note_value: str = "") -> str:
        """Label any pair by id (API only): decision is accept, reject or clear."""
        decision_value = choice(decision, "Decision", ("accept", "reject", "clear"))
        stored = set_label(
            ctx.engine,
            as_int(pair_id, "Pair id"),
            None if decision_value == "clear" else decision_value,
            note_value or "",
            "manual",
        )
        return f"pair {pair_id}: {stored['decision'] if stored else 'label cleared'}"

    decide_inputs = [note, queue_state, mode, recipe_state]
    queue_inputs = [mode, recipe_state, search, queue_state]
    load.click(bind(new_queue, ctx), queue_inputs, outputs, api_name="review_queue")
    search.submit(
        bind(new_queue, ctx), queue_inputs, outputs, api_name="review_search", show_progress="hidden"
    )
    mode.change(bind(new_queue, ctx), queue_inputs, outputs, api_name="review_mode", show_progress="hidden")
    accept.click(decide(ctx, "accept"), decide_inputs, outputs, api_name="accept", show_progress="hidden")
    reject.click(decide(ctx, "reject"), decide_inputs, outputs, api_name="reject", show_progress="hidden")
    skip.click(decide(ctx, None), decide_inputs, outputs, api_name="skip", show_progress="hidden")
    gr.api(label_pair, api_name="label_pair")
    # The queue is drawn each time the tab opens (not at page load, which stays light).
    if ctx.tab is not None:
        ctx.tab.select(
            bind(open_page, ctx), [queue_state, mode, recipe_state, search], outputs, api_name="review_open"
        )
    else:
        ctx.blocks.load(bind(new_queue, ctx), queue_inputs, outputs, api_name="load_review")
