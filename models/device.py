"""Where a model runs: the torch device and the dtype for it, chosen once at load time (one code path for
CPU and GPU)."""

from __future__ import annotations

import torch

from models.loading import ModelLoadError


def pick_device(requested: str | None = None) -> torch.device:
    """``cuda`` when present (or asked for), else CPU. Raises a clear error for an unavailable request."""
    if requested in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(
            f"Device {requested!r} was asked for but no CUDA GPU is available; use --device cpu."
        )
    return device


def dtype_for(device: torch.device) -> torch.dtype:
    """fp32 on CPU (bf16 matmuls are far slower on CPUs without AMX), bf16 on GPUs that support it."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32
