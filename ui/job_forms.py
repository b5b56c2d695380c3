"""Generate-page forms -> job parameters and the equivalent CLI command. No gradio here.

Generation parameters follow ``pipeline.generate_job``; scoring parameters are validated by
``pipeline.score_job.ScoreSettings`` (the same check the CLI makes), so a typo fails before anything is
queued.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.types import BACKENDS, TASKS
from ui.forms import FormError, as_float, as_int, choice, file_inside, model_spec, optional_int

DEVICES = ("auto", "cpu", "cuda")
CONTEXT_SOURCES = ("teacher", "corpus")


def generation_params(
    *,
    teacher: Any,
    task: Any,
    context_source: Any,
    corpus: Any,
    contexts: Any,
    samples: Any,
    temperature: Any,
    top_p: Any,
    seed: Any,
    device: Any,
    upload_dir: Path,
    backend: Any = "auto",
) -> dict[str, Any]:
    """Validated parameters for a ``generate`` job; ``FormError`` names the first bad field.

    The same limits as ``pipeline.generate_job.validate_params`` (not imported here: it pulls in torch,
    which the web server never needs); the job checks them again when it starts. With a corpus,
    ``contexts`` is the most contexts to read from it."""
    params: dict[str, Any] = {
        "teacher": model_spec(teacher, "teacher"),
        "task": choice(task, "Task", TASKS),
        "contexts": as_int(contexts, "Number of contexts", low=1, high=10_000_000),
        "samples": as_int(samples, "Samples per context", low=2, high=1000),
        "temperature": as_float(temperature, "Temperature", low=0.01, high=5.0),
        "top_p": as_float(top_p, "Top-p", low=0.01, high=1.0),
        "seed": optional_int(seed, "Seed", low=0) or 0,
        "device": choice(device or "auto", "Device", DEVICES),
        "backend": choice(backend or "auto", "Backend", BACKENDS),
    }
    if choice(context_source, "Contexts from", CONTEXT_SOURCES) == "corpus":
        params["corpus"] = file_inside(corpus, upload_dir, "corpus")
    return params


def score_params(*, nli: Any, embedder: Any, batch_size: Any, device: Any) -> dict[str, Any]:
    """Validated parameters for a ``score`` job (empty NLI = embedding cosine as the semantic critic)."""
    from pipeline.runner import UserError
    from pipeline.score_job import ScoreSettings

    embedder_spec = str(embedder or "").strip()
    params = {
        "nli": model_spec(nli, "NLI", allow_empty=True) or None,
        "embedder": None if embedder_spec.lower() in ("", "none") else model_spec(embedder_spec, "embedder"),
        "batch_size": as_int(batch_size, "Batch size", low=1, high=100_000),
        "device": choice(device or "auto", "Device", DEVICES),
    }
    try:
        ScoreSettings.from_params(params)
    except UserError as exc:
        raise FormError(str(exc)) from None
    return params


def _flag(name: str, value: Any) -> list[str]:
    return [] if value in (None, "", []) else [name, str(value)]


def generate_command(db_url: str, params: dict[str, Any]) -> str:
    """``impossible generate ...`` doing the same as the form."""
    argv = ["impossible", "generate", "--db", db_url]
    argv += _flag("--teacher", params.get("teacher")) + _flag("--task", params.get("task"))
    argv += _flag("--contexts", params.get("contexts")) + _flag("--samples", params.get("samples"))
    argv += _flag("--temperature", params.get("temperature")) + _flag("--top-p", params.get("top_p"))
    argv += _flag("--seed", params.get("seed")) + _flag("--device", params.get("device"))
    argv += _flag("--backend", params.get("backend"))
    argv += _flag("--corpus", params.get("corpus"))
    return shlex.join(argv)


def score_command(db_url: str, params: dict[str, Any]) -> str:
    """``impossible score ...`` doing the same as the form."""
    argv = ["impossible", "score", "--db", db_url]
    argv += _flag("--nli", params.get("nli"))
    argv += ["--embedder", params.get("embedder") or "none"]
    argv += _flag("--batch-size", params.get("batch_size")) + _flag("--device", params.get("device"))
    return shlex.join(argv)


def command_preview(
    build_params: Callable[[], dict[str, Any]], to_command: Callable[[dict[str, Any]], str]
) -> str:
    """The CLI command for a form, or the form's error as a shell comment while a field is invalid."""
    try:
        params = build_params()
    except FormError as exc:
        return f"# {exc}"
    return to_command(params)
