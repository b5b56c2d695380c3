"""Page wiring checked without a server: the page list, the API names, and the Curate view itself."""

from __future__ import annotations

import gradio as gr
import pytest

import ui
from curation.recipe import Recipe
from curation.select import count_selected
from db import jobs as job_rows
from ui.curate import PAGE_SIZE, curate_view
from ui.overview import overview_view

EXPECTED_API = {
    "start_generate", "start_score", "upload_corpus", "list_jobs", "cancel_job", "resume_job",
    "curate", "curate_prev_page", "curate_next_page", "reset_recipe", "curate_task", "load_curate",
    "review_queue", "review_open", "review_search", "accept", "reject", "skip", "label_pair",
    "save_version", "compare_versions", "load_version_recipe", "export_jsonl", "import_jsonl", "list_versions",
    "version_report", "agreement", "use_threshold", "train_critic", "score_with_critic",
    "start_training", "cancel_training", "start_evaluation",
}  # fmt: skip

#: What a user does on a page: press a button, submit a text box, upload a file.
USER_ACTIONS = ("click", "submit", "upload")


def page_of(block) -> str | None:
    """The title of the tab holding ``block`` (None outside every tab, e.g. the page-load event)."""
    while block is not None and not isinstance(block, gr.Tab):
        block = getattr(block, "parent", None)
    return None if block is None else block.label


def test_every_user_action_has_an_api_name(ctx):
    app = ui.build_app(ctx)
    names = {fn.api_name for fn in app.fns.values() if fn.api_name}
    missing = EXPECTED_API - names
    assert not missing, f"actions without an API endpoint: {sorted(missing)}"
    # derived from the app itself: every action on every page is a named public endpoint
    titles = [title for title, _ in ui.load_pages()]
    endpoints: dict[str | None, set[str]] = {title: set() for title in titles}
    hidden = []
    for fn in app.fns.values():
        public = fn.api_visibility == "public" and not fn.api_name.startswith("lambda")
        for block_id, event in fn.targets:
            page = page_of(app.blocks.get(block_id))
            if event in USER_ACTIONS and not public:
                hidden.append(f"{page}: {event} -> {fn.api_name}")
            if public:
                endpoints.setdefault(page, set()).add(fn.api_name)
    assert not hidden, f"user actions without a public API name: {hidden}"
    assert [title for title in titles if not endpoints[title]] == [], endpoints
    assert {"start_training", "cancel_training"} <= endpoints["Train"]
    assert "start_evaluation" in endpoints["Evaluate"]


def test_every_page_is_a_tab_in_order():
    pages = ui.load_pages()  # imported by name in ui/__init__.py: a missing page fails at import
    titles = ["Generate", "Curate", "Review", "Critics", "Versions", "Train", "Evaluate"]
    assert [title for title, _ in pages] == titles
    assert all(callable(module.render) for _, module in pages)


def test_curate_view_counts_what_the_sql_selection_keeps(ctx):
    recipe = Recipe.default("paraphrase", "embedding")
    headline, hist_html, critics, table, number, info, recipe_dict = curate_view(ctx, recipe, "kept", "id", 1)
    kept = count_selected(ctx.engine, recipe)
    assert headline.startswith(f"### {kept} of 120 paraphrase pairs survive")
    assert "<svg" in hist_html and "≥0.8" in hist_html
    assert {row[0] for row in critics} == {
        "embed_cosine", "length_ratio (min)", "length_ratio (max)", "numbers_ok", "rouge_l"
    }  # fmt: skip
    assert table.count("<tr>") == min(kept, PAGE_SIZE) + 1
    assert recipe_dict == recipe.to_dict()
    # rejected pairs page, clamped to the last page, and an unknown sort named in the error
    *_, rejected_table, last, rejected_info, _ = curate_view(ctx, recipe, "rejected", "-rouge_l", 999)
    assert f"{120 - kept:,} rejected pairs" in rejected_info and last == -(-(120 - kept) // PAGE_SIZE)
    with pytest.raises(ValueError, match="Sort must be one of"):
        curate_view(ctx, recipe, "kept", "random()", 1)


def test_the_idle_server_sleeps_between_queue_checks(ctx):
    app = ui.build_app(ctx)
    assert app._queue.sleep_when_free >= ui.QUEUE_IDLE_SLEEP_S  # Gradio's default spins every 1 ms
    assert app._queue.progress_update_sleep_when_free >= ui.PROGRESS_IDLE_SLEEP_S


def test_the_studio_opens_on_a_light_front_page_and_each_route_carries_only_its_pages(ctx):
    app = ui.build_app(ctx)
    config = app.get_config_file()["page"]
    assert set(config) == {"", *(path for _, path, _ in ui.ROUTES)}
    # what the browser builds when the studio opens: the navigation bar, title, counts, worker line, guide
    assert len(config[""]["components"]) <= 8
    for _name, path, pages in ui.ROUTES:
        ids = set(config[path]["components"])
        tabs = [block.label for i, block in app.blocks.items() if isinstance(block, gr.Tab) and i in ids]
        assert tabs == [title for title, _ in pages]
    assert [title for title, _ in ui.load_pages()] == [t for _, _, pages in ui.ROUTES for t, _ in pages]
    assert ui.route_of("Versions") == ("Curate", "curate") and ui.route_of("Evaluate") == ("Train", "train")


def test_the_front_page_counts_the_database_and_lists_active_jobs(ctx):
    counts, worker = overview_view(ctx)
    assert "**120** candidate pairs" in counts and "No job is queued or running." in counts
    assert "impossible worker" in worker  # no worker started by this studio: say how to run one
    job = job_rows.submit(ctx.engine, "score", {"embedder": "none"})
    counts, _ = overview_view(ctx)
    assert "**1 active job(s)**" in counts and f"job {job} · score · waiting for a worker" in counts
