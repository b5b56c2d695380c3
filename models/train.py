"""Fine-tune a student on (source, target) pairs: one readable loop, its configuration at the top.

AdamW with linear warmup then linear decay, gradient clipping, a held-out eval slice (eval loss), optional
LoRA (through peft: the adapter wiring, per-architecture target modules and the final merge are well
tested there, and a hand-written version would be the same code with more bugs), fp32 on CPU and bf16
autocast on CUDA. One ``StepLog`` per step goes to ``on_step``.

Checkpoints go to ``<output_dir>/checkpoint-<step>/`` every ``checkpoint_every`` steps (and when stopped
between steps): weights (or the LoRA adapter), tokenizer, optimizer + scheduler + RNG state, the step, the
resolved config and the recipe hash. Each is written to a temporary folder and renamed, and ``latest``
names the newest, so a kill at any moment leaves a usable checkpoint. Calling ``train`` again with the
same output folder resumes the same run: the data order is a function of (seed, epoch), so the resumed
run sees exactly the batches it would have seen. The finished model (LoRA merged in) is saved to
``<output_dir>/final/`` and reloads with ``models.student.load_student``.

Every checkpoint and ``final/`` records the run's identity (the caller's ``run_identity``, e.g. database
id + run id) and the hash of its configuration. A folder holding another run's checkpoint or model is
refused (``RunMismatch``), never resumed or reused.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from models.device import dtype_for
from models.student import Student, load_student
from models.train_defaults import eval_count, resolved_lr


@dataclass
class TrainConfig:
    student: str = "embedded"  # hub id, local folder, .gguf file or 'embedded' (SmolLM2-135M)
    task: str = "paraphrase"  # paraphrase | summary (sets the prompt prefix)
    epochs: int = 1  # passes over the training slice (ignored when max_steps is set)
    max_steps: int | None = None  # stop after this many optimizer steps
    lr: float | None = None  # None: 5e-5 for a full fine-tune, 2e-4 with LoRA
    batch_size: int = 8
    warmup_fraction: float = 0.05  # share of steps with a linear warmup from 0 to lr
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    eval_fraction: float = 0.1  # share of pairs held out for the eval loss (0 = none)
    eval_every: int = 25  # steps between eval-loss measurements (and at the last step)
    checkpoint_every: int = 50
    keep_checkpoints: int = 2
    lora: bool = False
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    max_source_tokens: int = 128
    max_target_tokens: int = 96
    seed: int = 0
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda[:n]

    def resolved_lr(self) -> float:
        return resolved_lr(self.lr, self.lora)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first impossible setting."""
        checks = [
            (self.batch_size >= 1, f"batch_size must be at least 1, not {self.batch_size}"),
            (self.epochs >= 1, f"epochs must be at least 1, not {self.epochs}"),
            (
                self.max_steps is None or self.max_steps >= 1,
                f"max_steps must be positive, not {self.max_steps}",
            ),
            (self.resolved_lr() > 0, f"lr must be positive, not {self.lr}"),
            (0 <= self.eval_fraction < 1, f"eval_fraction must lie in [0, 1), not {self.eval_fraction}"),
            (self.checkpoint_every >= 1, "checkpoint_every must be at least 1"),
            (self.eval_every >= 1, "eval_every must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message + ".")


@dataclass(frozen=True)
class StepLog:
    step: int  # optimizer steps done (1-based)
    total_steps: int
    train_loss: float
    eval_loss: float | None  # set on eval steps
    lr: float
    tokens_per_s: float  # over this run's steps so far (this process)
    elapsed_s: float


@dataclass
class TrainResult:
    output_dir: Path
    final_dir: Path | None  # None when stopped early
    steps: int
    total_steps: int
    resumed_from: int  # 0 for a fresh run
    stopped: bool = False
    history: list[StepLog] = field(default_factory=list)
    resolved: dict = field(default_factory=dict)


Pairs = list[tuple[str, str]]


def split_eval(pairs: Pairs, fraction: float, seed: int) -> tuple[Pairs, Pairs]:
    """Shuffle deterministically; the last ``fraction`` (at least one pair when > 0) is the eval slice."""
    shuffled = list(pairs)
    random.Random(seed).shuffle(shuffled)
    n_eval = eval_count(len(shuffled), fraction)
    return shuffled[: len(shuffled) - n_eval], shuffled[len(shuffled) - n_eval :]


def batch_indices(step: int, n: int, batch_size: int, seed: int) -> list[int]:
    """The example indices of ``step``: a fresh permutation each epoch, a pure function of the step."""
    per_epoch = math.ceil(n / batch_size)
    epoch, position = divmod(step, per_epoch)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000 + epoch)).tolist()
    return order[position * batch_size : (position + 1) * batch_size]


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warmup over ``warmup`` steps, then linear decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


# ---- checkpoints ------------------------------------------------------------------------------
class RunMismatch(ValueError):
    """The output folder holds another run's checkpoint or model, or a tampered ``latest`` pointer."""


CHECKPOINT_NAME = re.compile(r"checkpoint-\d+")


def config_hash(config: TrainConfig) -> str:
    """A short content hash of the resolved configuration (what a resume must match)."""
    text = json.dumps(asdict(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def latest_checkpoint(output_dir: Path) -> Path | None:
    """The checkpoint ``latest`` names; it must be a ``checkpoint-<step>`` folder inside ``output_dir``."""
    pointer = output_dir / "latest"
    if not pointer.is_file():
        return None
    name = pointer.read_text().strip()
    folder = output_dir / name
    if not CHECKPOINT_NAME.fullmatch(name) or not folder.resolve().is_relative_to(output_dir.resolve()):
        raise RunMismatch(
            f"{pointer} names {name[:80]!r}, not a checkpoint-<step> folder inside {output_dir}; "
            "delete that file (or the whole folder) to start the run afresh."
        )
    return folder if (folder / "state.json").is_file() else None


def check_belongs(state_file: Path, run_identity: str, wanted_hash: str) -> dict:
    """The saved state in ``state_file``, after proving it was written by this run with this configuration."""
    saved = json.loads(state_file.read_text())
    what = "model" if state_file.parent.name == "final" else "checkpoint"
    if saved.get("run_identity") != run_identity:
        raise RunMismatch(
            f"{state_file.parent} holds the {what} of another run ({saved.get('run_identity') or 'unknown'}, "
            f"not {run_identity or 'this one'}); refusing to reuse it. Choose an empty output folder."
        )
    if saved.get("config_hash") != wanted_hash:
        raise RunMismatch(
            f"{state_file.parent} holds a {what} of this run trained with another configuration "
            f"(config {saved.get('config_hash')}, now {wanted_hash}); refusing to resume it. "
            "Choose an empty output folder or delete this one."
        )
    return saved


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    output_dir: Path, step: int, student: Student, optimizer, scheduler, meta: dict, keep: int
):
    """Write ``checkpoint-<step>`` atomically, point ``latest`` at it, and drop older checkpoints."""
    name = f"checkpoint-{step}"
    tmp = output_dir / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    student.save(tmp)  # a peft model saves only its adapter here
    torch.save(
        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": _rng_state()},
        tmp / "trainer_state.pt",
    )
    (tmp / "state.json").write_text(json.dumps({**meta, "step": step}, indent=2))
    shutil.rmtree(output_dir / name, ignore_errors=True)
    os.replace(tmp, output_dir / name)
    _write_atomically(output_dir / "latest", name)
    steps = sorted(int(p.name.split("-")[1]) for p in output_dir.glob("checkpoint-*") if p.is_dir())
    for old in steps[:-keep]:
        shutil.rmtree(output_dir / f"checkpoint-{old}", ignore_errors=True)


def save_final(output_dir: Path, student: Student, meta: dict) -> Path:
    """Save the trained model (LoRA merged into the base weights) to ``final/``, atomically."""
    tmp, final = output_dir / ".final.tmp", output_dir / "final"
    shutil.rmtree(tmp, ignore_errors=True)
    if hasattr(student.model, "merge_and_unload"):
        student.model = student.model.merge_and_unload()
    student.save(tmp)
    (tmp / "state.json").write_text(json.dumps(meta, indent=2))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final


# ---- the loop ---------------------------------------------------------------------------------
def _with_lora(student: Student, config: TrainConfig, adapter_dir: Path | None = None) -> None:
    from peft import LoraConfig, PeftModel, TaskType, get_peft_model

    if adapter_dir is not None:
        student.model = PeftModel.from_pretrained(student.model, adapter_dir, is_trainable=True)
        return
    task_type = TaskType.SEQ_2_SEQ_LM if student.kind == "seq2seq" else TaskType.CAUSAL_LM
    lora = LoraConfig(
        task_type=task_type, r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout
    )
    student.model = get_peft_model(student.model, lora)


def _prepare_student(config: TrainConfig, resume_from: Path | None) -> Student:
    """The student to train: fresh from ``config.student``, or the weights of a checkpoint."""
    if resume_from is not None and not config.lora:
        student = load_student(str(resume_from), task=config.task, device=config.device)
    else:
        student = load_student(config.student, task=config.task, device=config.device)
        if config.lora:
            _with_lora(student, config, resume_from)
    student.max_source_tokens, student.max_target_tokens = config.max_source_tokens, config.max_target_tokens
    return student


def _autocast(student: Student):
    use_bf16 = student.device.type == "cuda" and dtype_for(student.device) == torch.bfloat16
    return torch.autocast(device_type=student.device.type, dtype=torch.bfloat16, enabled=use_bf16)


@torch.no_grad()
def eval_loss(student: Student, pairs: Pairs, batch_size: int) -> float | None:
    """Token-weighted mean loss over ``pairs`` (None when there are none)."""
    if not pairs:
        return None
    student.model.eval()
    total, tokens = 0.0, 0
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        with _autocast(student):
            loss, n = student.loss(student.training_batch([s for s, _ in chunk], [t for _, t in chunk]))
        total, tokens = total + loss.item() * n, tokens + n
    return total / max(1, tokens)


def train(
    config: TrainConfig,
    pairs: Pairs,
    output_dir: str | Path,
    *,
    recipe_hash: str = "",
    on_step: Callable[[StepLog], None] = lambda log: None,
    should_stop: Callable[[], bool] = lambda: False,
    on_start: Callable[[int], None] = lambda resumed_from: None,
    run_identity: str = "",
) -> TrainResult:
    """Train (or resume training) a student on ``pairs``; see the module docstring.

    ``should_stop`` is asked before every step; when it says yes a checkpoint is written and the result
    has ``stopped=True``. ``on_start`` gets the step the run resumes from (0 when fresh) before the first step.
    ``run_identity`` names the run; a checkpoint or ``final/`` written under another identity or
    configuration raises ``RunMismatch``.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    config.validate()
    wanted_hash = config_hash(config)
    finished = output_dir / "final" / "state.json"
    if finished.is_file():  # this run already finished: nothing to redo
        meta = check_belongs(finished, run_identity, wanted_hash)
        return TrainResult(
            output_dir, finished.parent, meta["step"], meta["total_steps"], meta["step"], resolved=meta
        )
    resume_from = latest_checkpoint(output_dir)
    if resume_from is not None:
        check_belongs(resume_from / "state.json", run_identity, wanted_hash)
    if not pairs:
        raise ValueError("There are no pairs to train on.")
    train_pairs, eval_pairs = split_eval(pairs, config.eval_fraction, config.seed)
    per_epoch = math.ceil(len(train_pairs) / config.batch_size)
    total = config.max_steps or per_epoch * config.epochs
    warmup = max(1, round(total * config.warmup_fraction))

    torch.manual_seed(config.seed)
    random.seed(config.seed)
    student = _prepare_student(config, resume_from)
    params = [p for p in student.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.resolved_lr(), weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total, warmup))
    meta = {
        "config": asdict(config),
        "config_hash": wanted_hash,
        "run_identity": run_identity,
        "recipe_hash": recipe_hash,
        "total_steps": total,
        "train_pairs": len(train_pairs),
        "eval_pairs": len(eval_pairs),
        "student_kind": student.kind,
        "device": str(student.device),
        "trainable_parameters": sum(p.numel() for p in params),
    }
    start = 0
    if resume_from is not None:
        saved = torch.load(resume_from / "trainer_state.pt", weights_only=True)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        _restore_rng(saved["rng"])
        start = json.loads((resume_from / "state.json").read_text())["step"]
    on_start(start)

    result = TrainResult(output_dir, None, start, total, start, resolved=meta)
    began, tokens_seen = time.perf_counter(), 0
    for step in range(start, total):
        if should_stop():
            save_checkpoint(output_dir, step, student, optimizer, scheduler, meta, config.keep_checkpoints)
            result.stopped = True
            return result
        student.model.train()
        chunk = [
            train_pairs[i] for i in batch_indices(step, len(train_pairs), config.batch_size, config.seed)
        ]
        batch = student.training_batch([s for s, _ in chunk], [t for _, t in chunk])
        with _autocast(student):
            loss, _ = student.loss(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        tokens_seen += int(batch["attention_mask"].sum()) + int((batch["labels"] != -100).sum()) * (
            student.kind == "seq2seq"
        )
        done = step + 1
        evaluate_now = done % config.eval_every == 0 or done == total
        elapsed = time.perf_counter() - began
        log = StepLog(
            step=done,
            total_steps=total,
            train_loss=loss.item(),
            eval_loss=eval_loss(student, eval_pairs, config.batch_size) if evaluate_now else None,
            lr=scheduler.get_last_lr()[0],
            tokens_per_s=tokens_seen / max(elapsed, 1e-9),
            elapsed_s=elapsed,
        )
        result.history.append(log)
        result.steps = done
        on_step(log)
        if done % config.checkpoint_every == 0 and done < total:
            save_checkpoint(output_dir, done, student, optimizer, scheduler, meta, config.keep_checkpoints)
    result.final_dir = save_final(output_dir, student, {**meta, "step": total})
    return result
