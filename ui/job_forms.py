"""Generate-page forms -> job parameters and the equivalent CLI command. No gradio here.

Generation parameters are checked by ``pipeline.generate_params`` and scoring parameters by
``pipeline.score_job.ScoreSettings`` (the same checks the CLI makes), so a typo fails before anything is
queued; the commands are built from the same specs the CLI's flags are (``pipeline.params``).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from db.types import TASKS
from models.availability import hub_reachable, in_local_cache, offline_reason
from pipeline.executor import EXECUTORS
from pipeline.params import GENERATE, SCORE, command, field
from pipeline.types import BACKENDS
from ui.forms import FormError, as_float, as_int, choice, file_inside, model_spec, optional_int

DEVICES = ("auto", "cpu", "cuda")
PAPER_NLI = "alisawuffles/roberta-large-wanli"
CONTEXT_SOURCES = ("teacher", "corpus")
BATCH = field(SCORE, "batch_size")


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
    model_roots: list[Path] | None = None,
    executor: Any = "local",
    ray_address: Any = "",
) -> dict[str, Any]:
    """Validated parameters for a ``generate`` job; ``FormError`` names the first bad field.

    The fields are parsed here (numbers may arrive as text) and checked by the job's own
    ``pipeline.generate_params.validate_params``, so the studio and the CLI share one set of limits. With a
    corpus, ``contexts`` is the most contexts to read from it. ``model_roots``: the folders a local teacher
    may come from (the studio's data and model-cache folders)."""
    from pipeline.generate_params import validate_params
    from pipeline.runner import UserError

    params: dict[str, Any] = {
        "teacher": model_spec(teacher, "teacher", roots=model_roots),
        "task": choice(task, "Task", TASKS),
        "contexts": as_int(contexts, "Number of contexts"),
        "samples": as_int(samples, "Samples per context"),
        "temperature": as_float(temperature, "Temperature"),
        "top_p": as_float(top_p, "Top-p"),
        "seed": optional_int(seed, "Seed") or 0,
        "device": choice(device or "auto", "Device", DEVICES),
        "backend": choice(backend or "auto", "Backend", BACKENDS),
    }
    if choice(context_source, "Contexts from", CONTEXT_SOURCES) == "corpus":
        params["corpus"] = file_inside(corpus, upload_dir, "corpus")
    if choice(executor or "local", "Executor", EXECUTORS) == "ray":  # a local job's params stay as before
        params["executor"] = "ray"
        params["ray_address"] = str(ray_address or "").strip() or None
    try:
        validate_params(params)
    except UserError as exc:
        raise FormError(str(exc)) from None
    return params


def score_params(
    *, nli: Any, embedder: Any, batch_size: Any, device: Any, model_roots: list[Path] | None = None
) -> dict[str, Any]:
    """Validated parameters for a ``score`` job (empty NLI = embedding cosine as the semantic critic);
    local models must lie in ``model_roots`` when given."""
    from pipeline.runner import UserError
    from pipeline.score_job import ScoreSettings

    embedder_spec = str(embedder or "").strip()
    params = {
        "nli": model_spec(nli, "NLI", allow_empty=True, roots=model_roots) or None,
        "embedder": None
        if embedder_spec.lower() in ("", "none")
        else model_spec(embedder_spec, "embedder", roots=model_roots),
        "batch_size": as_int(batch_size, "Batch size", low=BATCH.low, high=BATCH.high),
        "device": choice(device or "auto", "Device", DEVICES),
    }
    try:
        ScoreSettings.from_params(params)
    except UserError as exc:
        raise FormError(str(exc)) from None
    return params


def nli_can_suggest_hub() -> bool:
    """True when the paper's NLI model could load here (cached, or the hub is reachable)."""
    return in_local_cache(PAPER_NLI) or hub_reachable()


def nli_placeholder() -> str:
    """The NLI field's hint: the paper's model when it can load here, else what works offline."""
    if nli_can_suggest_hub():
        return f"e.g. {PAPER_NLI} (the paper's)"
    return "offline: a local NLI model folder (hub ids cannot download here)"


def nli_note() -> str:
    """Markdown under the NLI field: what an empty field means, and whether hub ids can load."""
    text = (
        "Without an NLI model the semantic critic is **embedding cosine** (weaker than the paper's "
        "bidirectional entailment); the Curate page says which one a database was scored with."
    )
    if not nli_can_suggest_hub():
        text += (
            f" **Offline:** {offline_reason()}, so only models in the local Hugging Face cache or a local "
            f"folder load; `{PAPER_NLI}` needs one download with network access (`hf download {PAPER_NLI}`)."
        )
    return text


def generate_command(db_url: str, params: dict[str, Any]) -> str:
    """``impossible generate ...`` doing the same as the form (flags from ``pipeline.params.GENERATE``, then
    the executor's)."""
    text = command("generate", db_url, params, GENERATE)
    if params.get("executor") == "ray":
        address = params.get("ray_address")
        text += " " + shlex.join(["--executor", "ray", *(["--ray-address", address] if address else [])])
    return text


def score_command(db_url: str, params: dict[str, Any]) -> str:
    """``impossible score ...`` doing the same as the form; no embedder is ``--embedder none``."""
    return command("score", db_url, {**params, "embedder": params.get("embedder") or "none"}, SCORE)


def command_preview(
    build_params: Callable[[], dict[str, Any]], to_command: Callable[[dict[str, Any]], str]
) -> str:
    """The CLI command for a form, or the form's error as a shell comment while a field is invalid."""
    try:
        params = build_params()
    except FormError as exc:
        return f"# {exc}"
    return to_command(params)
