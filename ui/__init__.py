"""The studio's Gradio layout: one tab per page module, in the order of ``PAGES``.

Each page module has ``render(ctx: AppContext) -> None`` and is called inside ``with gr.Tab(title):``
(see ``ui.context``). The pages are imported by name, so a missing or misspelt page fails at import.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import gradio as gr

from ui import critics, curate, evaluate, generate, review, train, versions
from ui.context import AppContext, load_all_at_once
from ui.form_state import make_stores

#: (tab title, page module) in the order the tabs appear.
PAGES: list[tuple[str, ModuleType]] = [
    ("Generate", generate),
    ("Curate", curate),
    ("Review", review),
    ("Critics", critics),
    ("Versions", versions),
    ("Train", train),
    ("Evaluate", evaluate),
]

TITLE = "Impossible Distillation Studio"

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


def build_app(ctx: AppContext) -> gr.Blocks:
    """The whole studio as one ``gr.Blocks``; launch it with ``launch_options(ctx)``."""
    with gr.Blocks(title=TITLE) as app:
        ctx.blocks = app
        make_stores(ctx)  # what the browser keeps of each form, outside the tabs (see ui.form_state)
        gr.Markdown(f"## {TITLE}")
        with gr.Tabs():
            for index, (title, module) in enumerate(load_pages()):
                with gr.Tab(title, id=title.lower()) as tab:
                    ctx.tab, ctx.first_page = tab, index == 0
                    module.render(ctx)
        ctx.tab, ctx.first_page = None, True
        load_all_at_once(ctx)
    calm_idle_queue(app)
    return app


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
