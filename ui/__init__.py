"""The studio's Gradio layout: an Overview front page, then one route (its own URL, its own browser page)
per group of ``ROUTES``, each showing its pages as tabs.

Each page module has ``render(ctx: AppContext) -> None`` and is called inside ``with gr.Tab(title):``
(see ``ui.context``). Pages that share the recipe being curated (Curate, Review, Critics, Versions) are
tabs of one route. A route's components reach the browser only when that route is opened, which keeps
the first render light (``benchmarks/bench_studio.py``). The pages are imported by name, so a missing or
misspelt page fails at import.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import gradio as gr

from ui import critics, curate, evaluate, generate, overview, review, train, versions
from ui.context import AppContext, load_all_at_once
from ui.form_state import make_stores

#: (navigation bar name, URL path, its pages as (tab title, page module)), in the order they appear.
ROUTES: list[tuple[str, str, list[tuple[str, ModuleType]]]] = [
    ("Generate", "generate", [("Generate", generate)]),
    (
        "Curate",
        "curate",
        [("Curate", curate), ("Review", review), ("Critics", critics), ("Versions", versions)],
    ),
    ("Train", "train", [("Train", train), ("Evaluate", evaluate)]),
]
#: Every page as (tab title, page module), in order.
PAGES: list[tuple[str, ModuleType]] = [page for _, _, pages in ROUTES for page in pages]

TITLE = "Impossible Distillation Studio"
#: The front page's name in the navigation bar (``ui.overview``).
MAIN_PAGE = "Overview"

CSS = """
.gradio-container { max-width: 1400px !important; }
.id-count { font-size: 1.4rem; font-weight: 600; }
.id-diff del { background: #fde2e2; color: #9b1c1c; text-decoration: line-through; }
.id-diff ins { background: #def7ec; color: #03543f; text-decoration: none; }
.id-pair { font-size: 1.1rem; line-height: 1.6; }
.id-hint { color: #6b7280; font-size: 0.9rem; }
.id-critic { padding: 6px 10px !important; gap: 2px !important; }
.id-table td, .id-table th { vertical-align: top; font-size: 0.9rem; }
/* table headers break between words, never inside one ("ev al ua ti on") */
table th, table th * { word-break: keep-all !important; overflow-wrap: normal !important; hyphens: none; }
.id-progress { display: flex; align-items: center; gap: 8px; }
.id-progress progress { width: 240px; height: 12px; }
"""


def load_pages() -> list[tuple[str, ModuleType]]:
    """Every page as (tab title, module), in tab order."""
    return list(PAGES)


def route_of(title: str) -> tuple[str, str]:
    """The (navigation bar name, URL path) of the route that shows the page ``title``."""
    return next((name, path) for name, path, pages in ROUTES if any(t == title for t, _ in pages))


def build_app(ctx: AppContext) -> gr.Blocks:
    """The whole studio as one ``gr.Blocks`` (the Overview, then one route per ``ROUTES`` entry); launch
    it with ``launch_options(ctx)``. Every event of every route is an endpoint of this one app."""
    with gr.Blocks(title=TITLE) as app:
        ctx.blocks = app
        page_header()
        overview.render(ctx)
        load_all_at_once(ctx)
    for name, path, pages in ROUTES:
        with app.route(name, path):
            render_route(ctx, pages)
    calm_idle_queue(app)
    return app


def page_header() -> None:
    """The navigation bar and the title, at the top of every route (each is its own browser page)."""
    gr.Navbar(main_page_name=MAIN_PAGE)
    gr.Markdown(f"## {TITLE}")


def render_route(ctx: AppContext, pages: list[tuple[str, ModuleType]]) -> None:
    """One route's pages as tabs; its first page's data loads with the route, in one request."""
    page_header()
    make_stores(ctx)  # what the browser keeps of each form, outside the tabs (see ui.form_state)
    with gr.Tabs():
        for index, (title, module) in enumerate(pages):
            with gr.Tab(title, id=title.lower()) as tab:
                ctx.tab, ctx.first_page = tab, index == 0
                module.render(ctx)
    ctx.tab, ctx.first_page = None, True
    load_all_at_once(ctx)


#: How long Gradio's event queue sleeps between checks while no event waits. Gradio polls every 1 ms
#: (and progress every 10 ms) off Windows, which kept about 7% of a core busy with no browser connected;
#: 20 ms / 100 ms (Gradio's own Windows values are 50 / 100 ms) cost an event at most 20 ms of wait.
QUEUE_IDLE_SLEEP_S = 0.02
PROGRESS_IDLE_SLEEP_S = 0.1


def calm_idle_queue(app: gr.Blocks) -> None:
    """Make the idle server sleep instead of spinning (no public Gradio setting exists for this)."""
    queue = getattr(app, "_queue", None)
    if queue is not None and hasattr(queue, "sleep_when_free"):
        queue.sleep_when_free = max(queue.sleep_when_free, QUEUE_IDLE_SLEEP_S)
        queue.progress_update_sleep_when_free = max(
            getattr(queue, "progress_update_sleep_when_free", 0.0), PROGRESS_IDLE_SLEEP_S
        )


def launch_options(ctx: AppContext) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch`` that every launch of the studio needs (theme, css, the
    keyboard-shortcut script, downloads from the export folder only, the upload limit)."""
    from ui.shortcuts import HEAD

    return {
        "theme": gr.themes.Soft(),
        "css": CSS,
        "head": HEAD,
        "allowed_paths": [str(ctx.export_dir)],
        "max_file_size": ctx.max_upload_bytes,
        "share": False,
        "show_error": True,
    }
