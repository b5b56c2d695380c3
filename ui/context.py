"""What every studio page gets: the database, the export folder, upload limits and the job worker.

Page convention: each page module in ``ui/`` has ``render(ctx: AppContext) -> None``; ``ui.build_app``
calls it inside ``with gr.Tab(title):``. A page lays out its components and wires events whose handlers
are a few lines calling ``curation`` / ``db`` / ``pipeline`` code (which never imports gradio). Every
event has an ``api_name`` so ``gradio_client`` can do anything the browser can.

Pages that share a value across tabs (the recipe being curated) find it in ``ctx.shared``: the Curate page
puts a ``gr.State`` there under ``"recipe"`` and the Review and Versions pages read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

if TYPE_CHECKING:
    from ui.worker import WorkerProcess

#: Largest JSONL / corpus upload the studio accepts.
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024


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
    #: Components one page publishes for another (set while the app is being built).
    shared: dict[str, Any] = field(default_factory=dict)

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
