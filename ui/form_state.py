"""A form's last values kept in the browser (``gr.BrowserState``, i.e. localStorage), so a reload or a
restart of the studio shows what the user typed last instead of the defaults.

One store per form and per database: the storage key and the secret derive from the database URL, so two
studios on different databases never share values, and a restarted studio can still read what the
browser kept (a random secret would change with every start). The values are form inputs, not secrets.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import gradio as gr

from ui.context import AppContext, on_open

#: The forms whose values the browser keeps; ``ui.build_app`` makes their stores before the tabs.
FORMS = ("generate", "score", "curate", "evaluate")


def make_stores(ctx: AppContext) -> None:
    """Create every form's store at the top of the page, outside the tabs: a store inside a tab that is
    not open yet is not mounted, so the page-load event would not see what the browser kept."""
    digest = hashlib.sha256(f"impossible-distillation:{ctx.db_url}".encode()).hexdigest()
    ctx.browser_stores = {
        form: gr.BrowserState(None, storage_key=f"impossible-{form}-{digest[:12]}", secret=digest[12:44])
        for form in FORMS
    }


def browser_store(ctx: AppContext, form: str) -> gr.BrowserState:
    """The browser-side store for ``form`` (``None`` until the user changes something)."""
    if not ctx.browser_stores:  # a page rendered on its own (tests)
        make_stores(ctx)
    return ctx.browser_stores[form]


def restored(saved: Any, count: int) -> list[Any] | None:
    """The saved values when they fit a form of ``count`` fields, else ``None`` (nothing or stale)."""
    if isinstance(saved, dict):
        saved = saved.get("values")
    if isinstance(saved, list) and len(saved) == count:
        return saved
    return None


def remember(ctx: AppContext, form: str, fields: Sequence[gr.components.Component]) -> gr.BrowserState:
    """Save ``fields`` to the browser whenever the user edits one, and put them back on page load."""
    store = browser_store(ctx, form)
    fields = list(fields)

    def save(*values: Any) -> dict[str, Any]:
        return {"values": list(values)}

    def restore(saved: Any) -> list[Any]:
        values = restored(saved, len(fields))
        return values if values is not None else [gr.skip() for _ in fields]

    for field in fields:
        field.input(save, fields, store, api_visibility="private", show_progress="hidden", queue=False)
    on_open(ctx, restore, [store], fields, api_visibility="private", show_progress="hidden", queue=False)
    return store
