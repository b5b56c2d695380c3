"""What every studio page gets: the database, the export folder, upload limits and the job worker.

Page convention: each page module in ``ui/`` has ``render(ctx: AppContext) -> None``; ``ui.build_app``
calls it inside ``with gr.Tab(title):`` (``ctx.tab``). A page lays out its components (a ``layout``
function) and wires events (``render``); its handlers are module-level functions of the context, handed
it by ``bind``, each a few lines calling ``curation`` / ``db`` / ``pipeline`` code (which never imports
gradio). Data a page shows loads when it first opens (``on_open``): with the page load for the first page,
else when its tab is first selected, so opening the studio loads only its first page. Every event has an
``api_name`` so ``gradio_client`` can do anything the browser can.

Pages that share a value across tabs find it in typed fields: the Curate page publishes the recipe being
curated (``ctx.recipe``, a ``gr.State``) and how to show another recipe on it (``ctx.curate``); the Review,
Critics and Versions pages read them.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
from sqlalchemy import Engine

if TYPE_CHECKING:
    from ui.worker import WorkerProcess

#: Largest JSONL / corpus upload the studio accepts.
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@dataclass
class CurateView:
    """How another page shows a recipe on the Curate page: ``show_recipe(recipe, *inputs)`` returns the
    values of ``outputs`` (the controls, the counts and the table)."""

    show_recipe: Callable[..., list[Any]]
    inputs: list[Any]
    outputs: list[Any]


@dataclass
class AppContext:
    """The studio's shared handles, built once by ``app.py`` (or a test) and passed to every page."""

    db_url: str
    engine: Engine
    export_dir: Path
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    #: The background job process; ``None`` when jobs are run elsewhere (a separate ``impossible worker``).
    worker: WorkerProcess | None = None
    #: Where uploaded corpora are kept (default: ``uploads`` beside the export folder).
    upload_dir: Path | None = None
    #: The only folders whose model, corpus and benchmark paths typed into the studio are read
    #: (``--data-dir``; default: ``data`` beside the export folder). The CLI reads any path.
    data_dirs: list[Path] = field(default_factory=list)
    #: What the Curate page publishes for the other pages (set while the app is being built; ``None``
    #: when it is not part of the app).
    recipe: gr.State | None = None
    curate: CurateView | None = None
    #: Each form's browser-side store (``ui.form_state``), made before the tabs.
    browser_stores: dict[str, gr.BrowserState] = field(default_factory=dict)
    #: The app being built and the tab of the page being rendered (``ui.build_app`` sets them; a page
    #: rendered on its own in a bare ``gr.Blocks`` has no tab).
    blocks: gr.Blocks | None = None
    tab: gr.Tab | None = None
    #: True while the page shown when the studio opens is rendered (its data loads with the page).
    first_page: bool = True
    #: What the page load fills in, as (fn, inputs, outputs): ``ui.build_app`` sends it all as one request.
    page_load: list[tuple[Callable[..., Any], list[Any], list[Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.export_dir = Path(self.export_dir).expanduser().resolve()
        self.export_dir.mkdir(parents=True, exist_ok=True)
        self.upload_dir = Path(self.upload_dir or self.export_dir.parent / "uploads").expanduser().resolve()
        dirs = self.data_dirs or [self.export_dir.parent / "data"]
        self.data_dirs = [Path(d).expanduser().resolve() for d in dirs]

    @property
    def model_roots(self) -> list[Path]:
        """Folders a local model path may come from: the data folders and the Hugging Face cache."""
        from huggingface_hub.constants import HF_HUB_CACHE

        return [*self.data_dirs, Path(HF_HUB_CACHE).expanduser().resolve()]


def bind(fn: Callable[..., Any], ctx: AppContext) -> Callable[..., Any]:
    """``fn`` with the page context as its first argument, for an event: a page's handlers are
    module-level functions of ``ctx``; Gradio sees the rest of ``fn``'s signature (names, defaults)."""

    @functools.wraps(fn)
    def handler(*args: Any, **kwargs: Any) -> Any:
        return fn(ctx, *args, **kwargs)

    signature = inspect.signature(fn)
    handler.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])  # type: ignore[attr-defined]
    return handler


def on_page_load(
    ctx: AppContext, fn: Callable[..., Any], inputs: Sequence[Any], outputs: Sequence[Any]
) -> None:
    """Fill ``outputs`` from ``fn(*inputs)`` when the page loads, in the one request that
    ``load_all_at_once`` makes for every such loader (each request costs the first render a round trip)."""
    ctx.page_load.append((fn, list(inputs), list(outputs)))


def load_all_at_once(ctx: AppContext) -> None:
    """Register the page-load loaders collected by ``on_page_load`` as one private, unqueued load event."""
    loaders, ctx.page_load = ctx.page_load, []
    if not loaders or ctx.blocks is None:
        return
    inputs: list[Any] = []
    for _, fn_inputs, _ in loaders:
        inputs += [c for c in fn_inputs if all(c is not seen for seen in inputs)]

    def load(*values: Any) -> list[Any]:
        by_id = {id(c): v for c, v in zip(inputs, values, strict=True)}
        updates: list[Any] = []
        for fn, fn_inputs, fn_outputs in loaders:
            result = fn(*(by_id[id(c)] for c in fn_inputs))
            updates += result if len(fn_outputs) > 1 else [result]
        return updates

    outputs = [c for _, _, fn_outputs in loaders for c in fn_outputs]
    ctx.blocks.load(load, inputs, outputs, api_visibility="private", show_progress="hidden", queue=False)


def on_open(
    ctx: AppContext, fn: Callable[..., Any], inputs: Sequence[Any], outputs: Sequence[Any], **options: Any
) -> Any:
    """Run ``fn`` when the page first opens: with the page load for the first page (or a page rendered
    on its own), else the first time its tab is selected, so opening the studio loads only what its
    first page shows. Later selections of the tab leave what the user changed alone."""
    inputs, outputs = list(inputs), list(outputs)
    if (ctx.first_page or ctx.tab is None) and not options.get("api_name"):
        return on_page_load(ctx, fn, inputs, outputs)
    if ctx.first_page or ctx.tab is None:
        if ctx.blocks is None:
            raise RuntimeError("ui.build_app sets ctx.blocks before rendering a page")
        return ctx.blocks.load(fn, inputs, outputs, **options)
    opened = gr.State(False)

    def first_time(*values: Any) -> list[Any]:
        *values, done = values
        if done:
            return [gr.skip() for _ in outputs] + [True]
        result = fn(*values)
        return [*(result if len(outputs) > 1 else [result]), True]

    # Gradio reads parameter defaults off the signature (an API argument with a default is optional)
    params = [p for p in inspect.signature(fn).parameters.values() if p.kind is not p.VAR_KEYWORD]
    if not any(p.kind is p.VAR_POSITIONAL for p in params):
        opened_param = inspect.Parameter("opened", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False)
        first_time.__signature__ = inspect.Signature([*params, opened_param])  # type: ignore[attr-defined]
    return ctx.tab.select(first_time, [*inputs, opened], [*outputs, opened], **options)
