"""Training defaults and the held-out split size, apart from ``models.train`` so the studio can show them
without importing torch."""

from __future__ import annotations

#: Peak learning rate when none is given: a full fine-tune, and a LoRA adapter.
DEFAULT_LR = 5e-5
DEFAULT_LORA_LR = 2e-4


def resolved_lr(lr: float | None, lora: bool) -> float:
    """The learning rate a run uses: the given one, else the default for full fine-tuning or LoRA."""
    return lr if lr is not None else (DEFAULT_LORA_LR if lora else DEFAULT_LR)


def eval_count(n_pairs: int, fraction: float) -> int:
    """How many of ``n_pairs`` are held out for the eval loss: none when ``fraction`` is 0 or there are
    fewer than 2 pairs, else at least one."""
    if fraction <= 0 or n_pairs < 2:
        return 0
    return max(1, round(n_pairs * fraction))
