"""The teacher-decoding backend: which engine samples contexts and candidates, and what it records.

``torch`` is ``pipeline.generate``'s decoder, ``ctranslate2`` runs the converted teacher
(``pipeline.generate_ct2``), ``vllm`` runs it on a GPU (``pipeline.generate_vllm``). ``auto`` picks
ctranslate2 on CPU, vllm on CUDA when installed, and torch otherwise, logging why it fell back. Every
decoder has the same ``sample(prompts, samples, settings, seeds, stop_after_sentences=...)`` method and a
``provenance`` dict stored with each sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.util import find_spec
from typing import Any

from models.loading import ModelLoadError
from pipeline.generate import Sample, SamplingSettings
from pipeline.types import BACKENDS


@dataclass
class Decoder:
    """A loaded teacher behind one backend."""

    backend: str  # torch | ctranslate2 | vllm
    name: str  # the teacher's provenance name
    engine: Any  # Teacher, CT2Teacher or VllmTeacher
    sample_fn: Callable[..., list[list[Sample]]]
    quantization: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)  # recipe differences this backend records

    @property
    def provenance(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": self.backend}
        if self.quantization:
            out["quantization"] = self.quantization
        return {**out, **self.notes}

    @property
    def tokenizer(self) -> Any:
        return self.engine.tokenizer

    def sample(
        self,
        prompts: list[str],
        samples: int,
        settings: SamplingSettings,
        seeds: list[int],
        *,
        stop_after_sentences: int | None = 1,
        on_progress: Callable[[int], None] | None = None,
    ) -> list[list[Sample]]:
        """``samples`` continuations per prompt; ``on_progress`` gets the number of finished samples."""
        return self.sample_fn(
            self.engine,
            prompts,
            samples,
            settings,
            seeds,
            stop_after_sentences=stop_after_sentences,
            on_progress=on_progress,
        )


def installed(backend: str) -> bool:
    return backend == "torch" or find_spec(backend) is not None


def _cuda(device: str | None) -> bool:
    import torch

    if device in (None, "", "auto"):
        return torch.cuda.is_available()
    return str(device).startswith("cuda")


def not_installed_error(backend: str) -> ModelLoadError:
    extra = (
        "pip install ctranslate2"
        if backend == "ctranslate2"
        else "pip install 'impossible-distillation-studio[vllm]' on a CUDA machine"
    )
    return ModelLoadError(f"The {backend} backend is not installed ({extra}); use --backend torch or auto.")


def auto_choice(device: str | None) -> tuple[str, str | None]:
    """(backend, why it is not the preferred one or None) for ``auto`` on ``device``."""
    if _cuda(device):
        if installed("vllm"):
            return "vllm", None
        return "torch", "vllm is not installed for this CUDA device"
    if installed("ctranslate2"):
        return "ctranslate2", None
    return "torch", "ctranslate2 is not installed"


def _torch_decoder(teacher_spec: str, device: str | None) -> Decoder:
    from models.teacher import load_teacher
    from pipeline.generate import sample_continuations

    teacher = load_teacher(teacher_spec, device)
    return Decoder("torch", teacher.name, teacher, sample_continuations)


def _ct2_decoder(teacher_spec: str, device: str | None) -> Decoder:
    from models.ct2 import load_ct2_teacher
    from pipeline.generate_ct2 import sample_continuations_ct2

    teacher = load_ct2_teacher(teacher_spec, device)
    return Decoder("ctranslate2", teacher.name, teacher, sample_continuations_ct2, teacher.quantization)


def _vllm_decoder(teacher_spec: str, device: str | None) -> Decoder:
    from pipeline.generate_vllm import load_vllm_teacher, sample_continuations_vllm

    if not _cuda(device):
        raise ModelLoadError("The vllm backend needs a CUDA GPU; on a CPU use --backend ctranslate2 or auto.")
    teacher = load_vllm_teacher(teacher_spec)
    return Decoder(
        "vllm", teacher.name, teacher, sample_continuations_vllm, teacher.dtype, {"ngram_ban": False}
    )


_LOADERS = {"torch": _torch_decoder, "ctranslate2": _ct2_decoder, "vllm": _vllm_decoder}


def load_decoder(
    teacher_spec: str, device: str | None, backend: str = "auto", log: Callable[[str], None] = print
) -> Decoder:
    """The teacher behind ``backend``. An explicit backend that cannot run raises ``ModelLoadError``
    (one sentence); ``auto`` falls back to torch and says why through ``log``."""
    if backend not in BACKENDS:
        raise ModelLoadError(f"Unknown backend {backend!r}; use one of: {', '.join(BACKENDS)}.")
    if backend != "auto":
        if not installed(backend):
            raise not_installed_error(backend)
        return _LOADERS[backend](teacher_spec, device)
    chosen, why = auto_choice(device)
    if chosen != "torch":
        try:
            return _LOADERS[chosen](teacher_spec, device)
        except ModelLoadError as exc:
            why = str(exc)
    decoder = _torch_decoder(teacher_spec, device)
    log(f"backend auto: using torch because {why}")
    return decoder
