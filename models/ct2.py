"""The teacher as a CTranslate2 engine: convert it once into the model cache, then load it in ~0.1 s.

A teacher (hub id, folder, or GGUF file through its dequantized copy in ``models.teacher``) is converted
with ``ct2-transformers-converter``'s Python API into ``CACHE_DIR/ctranslate2/<name>-<fingerprint>-<q>``,
where ``q`` is the quantization (``int8`` on CPU, ``int8_float16`` on CUDA). The conversion writes into a
temporary folder beside the target and renames it, so the target is complete or absent: a killed or
failed conversion leaves no half folder, and the next load converts again (temporary folders of dead
processes are removed then).

``CT2Teacher.generator()`` builds a fresh ``ctranslate2.Generator`` each call. That is deliberate: the
engine seeds each worker thread's random generator once, on first use, from ``set_random_seed``; a fresh
generator is therefore the only way to make one context's samples depend on its own seed alone.

On a CPU the CPU threads are spent as ``engines`` concurrent engines of ``threads // engines`` threads
each (``parallel_engines``): one engine on two threads spends much of its time waking its second thread
for each small matrix product, while two one-thread engines decoding two contexts at once keep both cores
busy (``benchmarks/bench_generate.py``). Each concurrent engine holds its own copy of the weights, so
their number is also capped by memory. The split depends on the machine only, never on the batch, so a
context's samples do not depend on which contexts share its batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from models.device import pick_device
from models.loading import CACHE_DIR, ModelLoadError, ModelSpec, load_failure
from models.loading import resolve as resolve_spec

log = logging.getLogger(__name__)

CPU_QUANTIZATION = "int8"
CUDA_QUANTIZATION = "int8_float16"
INSTALL_HINT = "pip install ctranslate2"
_TMP_MARK = ".tmp-"


def installed() -> bool:
    """True when the ``ctranslate2`` package can be imported."""
    from importlib.util import find_spec

    return find_spec("ctranslate2") is not None


def quantization_for(device: torch.device) -> str:
    return CUDA_QUANTIZATION if device.type == "cuda" else CPU_QUANTIZATION


def supported_architectures() -> frozenset[str]:
    """Hugging Face config class names the installed converter knows (e.g. ``LlamaConfig``)."""
    from ctranslate2.converters import transformers as converter

    return frozenset(getattr(converter, "_MODEL_LOADERS", {}))


def source_dir(model: ModelSpec) -> str:
    """What the converter and the tokenizer read: a folder or hub id (a GGUF file's dequantized copy)."""
    from models.teacher import checkpoint_dir

    return checkpoint_dir(model)


def check_architecture(model: ModelSpec, source: str) -> None:
    """Raise ``ModelLoadError`` (one sentence) when CTranslate2 cannot run this model as a teacher."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(source)
    except Exception as exc:
        raise load_failure(model, exc) from exc
    name = type(config).__name__
    if getattr(config, "is_encoder_decoder", False):
        raise ModelLoadError(
            f"Teacher {model.spec!r} is an encoder-decoder model; the teacher must be a causal LM."
        )
    known = supported_architectures()
    if known and name not in known:
        raise ModelLoadError(
            f"The ctranslate2 backend cannot run teacher {model.spec!r}: CTranslate2 does not support its "
            f"architecture ({name}). Use --backend torch."
        )


def _fingerprint(source: str) -> str:
    """Changes when the weights change: config text plus weight file names, sizes and mtimes."""
    folder = Path(source)
    parts = [source]
    if folder.is_dir():
        config = folder / "config.json"
        parts.append(config.read_text(encoding="utf-8") if config.exists() else "")
        for f in sorted(folder.iterdir()):
            if f.suffix in (".safetensors", ".bin", ".pt", ".pth") and f.is_file():
                stat = f.stat()
                parts.append(f"{f.name}:{stat.st_size}:{int(stat.st_mtime)}")
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


def cache_dir(source: str, quantization: str) -> Path:
    """The converted model's folder for ``source`` at ``quantization`` (part of the key)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(source.rstrip("/")).name or source)[:60]
    return CACHE_DIR / "ctranslate2" / f"{slug}-{_fingerprint(source)}-{quantization}"


def is_complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in ("config.json", "model.bin", "vocabulary.json"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_dead_temporaries(target: Path) -> None:
    """Delete temporary folders left beside ``target`` by conversions whose process is gone."""
    if not target.parent.is_dir():
        return
    for tmp in target.parent.glob(f".{target.name}{_TMP_MARK}*"):
        pid = tmp.name[len(f".{target.name}{_TMP_MARK}") :].split("-", 1)[0]
        if not pid.isdigit() or not _pid_alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _run_converter(source: str, output: Path, quantization: str) -> None:
    """The converter itself (a separate function so tests can stand in a failing or hanging one)."""
    from ctranslate2.converters import TransformersConverter

    TransformersConverter(source, low_cpu_mem_usage=True).convert(
        str(output), quantization=quantization, force=True
    )


def convert(source: str, target: Path, quantization: str) -> Path:
    """Convert ``source`` into ``target`` atomically (temporary folder + rename); return ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temporaries(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{_TMP_MARK}{os.getpid()}-", dir=target.parent))
    log.info("converting %s for CTranslate2 (%s) once; later loads use %s", source, quantization, target)
    try:
        _run_converter(source, tmp, quantization)
        if not is_complete(tmp):
            raise RuntimeError(f"the converter left no complete model in {tmp}")
        (tmp / "impossible.json").write_text(json.dumps({"source": source, "quantization": quantization}))
        tmp.chmod(0o755)
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first: its copy is as good as ours
            if not is_complete(target):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass(frozen=True)
class CT2Teacher:
    """A converted teacher: where it lives, how to run it, and the tokenizer that maps text to tokens."""

    model_dir: Path
    tokenizer: Any
    name: str  # same provenance name as the torch teacher
    device: torch.device
    quantization: str
    threads: int
    max_positions: int | None
    eos_ids: frozenset[int]
    engines: int = 1  # engines decoding at once, each on ``engine_threads`` threads

    @property
    def engine_threads(self) -> int:
        return max(1, self.threads // self.engines)

    def generator(self) -> Any:
        """A fresh engine (~0.1 s): its worker thread seeds itself from the next ``set_random_seed``."""
        import ctranslate2

        return ctranslate2.Generator(
            str(self.model_dir),
            device=self.device.type,
            device_index=self.device.index or 0,
            compute_type=self.quantization,
            intra_threads=self.engine_threads,
        )


def _load(model: ModelSpec, device: torch.device) -> CT2Teacher:
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    from models.teacher import teacher_name

    source = source_dir(model)
    check_architecture(model, source)
    quantization = quantization_for(device)
    target = cache_dir(source, quantization)
    if not is_complete(target):
        convert(source, target, quantization)
    threads = max(1, torch.get_num_threads())
    tokenizer = AutoTokenizer.from_pretrained(source)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    config = AutoConfig.from_pretrained(source)
    eos = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    try:
        configured = GenerationConfig.from_pretrained(source).eos_token_id
    except OSError:
        configured = getattr(config, "eos_token_id", None)
    eos |= set(configured if isinstance(configured, list) else [configured] if configured is not None else [])
    return CT2Teacher(
        model_dir=target,
        tokenizer=tokenizer,
        name=teacher_name(model),
        device=device,
        quantization=quantization,
        threads=threads,
        max_positions=getattr(config, "max_position_embeddings", None),
        eos_ids=frozenset(eos),
        engines=parallel_engines(device, threads, _weights_bytes(target), _memory_bytes()),
    )


#: Concurrent engines may together take at most this share of the machine's memory for their weights.
ENGINE_MEMORY_SHARE = 0.25


def parallel_engines(device: torch.device, threads: int, weights_bytes: int, memory_bytes: int) -> int:
    """How many engines decode at once: one per CPU thread, as many as a quarter of the memory holds
    (one on a GPU, where one engine already keeps the device busy)."""
    if device.type != "cpu":
        return 1
    fits = int(memory_bytes * ENGINE_MEMORY_SHARE) // max(weights_bytes, 1)
    return max(1, min(threads, fits))


def _weights_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.glob("*.bin"))


def _memory_bytes() -> int:
    """The machine's physical memory (a fixed quantity, so the engine split is the same on every run)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


@lru_cache(maxsize=4)
def _load_cached(spec: str, device: str | None) -> CT2Teacher:
    model = resolve_spec("teacher", spec)
    if not installed():
        raise ModelLoadError(
            f"The ctranslate2 backend is not installed ({INSTALL_HINT}); use --backend torch or auto."
        )
    target = pick_device(device)
    try:
        return _load(model, target)
    except ModelLoadError:
        raise
    except Exception as exc:  # a failed conversion or load becomes one sentence naming the model
        raise load_failure(model, exc) from exc


def load_ct2_teacher(spec: str, device: str | None = None) -> CT2Teacher:
    """The teacher ``spec`` converted for CTranslate2 (converted on first use, cached on disk).

    Raises ``ModelLoadError`` with one sentence when ctranslate2 is missing, the architecture is not
    supported, or the model cannot be read.
    """
    return _load_cached((spec or "").strip(), None if device in (None, "", "auto") else device)
