"""Training and evaluation throughput of a student on this machine (CPU by default).

Runs the real training loop (``models.train.train``) twice on the same pairs and settings: a full
fine-tune and LoRA (r=8), and reports steady-state training tokens/s (the first step, which includes
warm-up allocations, is left out). Then loads the fully fine-tuned model from its ``final/`` folder and
measures greedy generation as the evaluate job runs it (batch 16): outputs/s and generated tokens/s.

    .venv/bin/python benchmarks/bench_train.py [--student embedded] [--steps 6] [--batch-size 8]

Last line: ``train_tokens_per_s=<full fine-tune> lora_speedup=<LoRA tokens/s / full tokens/s>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.student import load_student  # noqa: E402
from models.train import StepLog, TrainConfig, train  # noqa: E402

PAIRS = [
    ("The company said its profit rose 12 percent in the third quarter.",
     "Third-quarter profit at the company climbed 12 percent, it said."),
    ("Officials closed the bridge after the storm damaged its supports.",
     "The bridge was shut by officials because the storm had damaged its supports."),
    ("The senator announced on Tuesday that she would not seek re-election.",
     "On Tuesday the senator said she would not run again."),
    ("Heavy rain caused flooding in several parts of the city overnight.",
     "Several parts of the city flooded overnight after heavy rain."),
    ("The team won its fifth straight game with a late goal.",
     "A late goal gave the team a fifth consecutive win."),
    ("Shares of the airline fell sharply after it cut its forecast.",
     "The airline's shares dropped steeply once it lowered its forecast."),
    ("The museum will reopen next month after a two-year renovation.",
     "After two years of renovation, the museum reopens next month."),
    ("Police arrested two men in connection with the robbery.",
     "Two men were arrested by police over the robbery."),
]  # fmt: skip


def steady_tokens_per_s(logs: list[StepLog]) -> float:
    """Tokens/s between the end of the first step and the end of the last one."""
    tokens = [log.tokens_per_s * log.elapsed_s for log in logs]
    return (tokens[-1] - tokens[0]) / (logs[-1].elapsed_s - logs[0].elapsed_s)


def measure_training(args, lora: bool, folder: Path) -> tuple[float, Path]:
    logs: list[StepLog] = []
    config = TrainConfig(student=args.student, max_steps=args.steps + 1, batch_size=args.batch_size, lora=lora,
                         eval_fraction=0.0, checkpoint_every=10**9, device=args.device)  # fmt: skip
    result = train(config, PAIRS * 4, folder, on_step=logs.append)
    rate = steady_tokens_per_s(logs)
    per_step = (logs[-1].elapsed_s - logs[0].elapsed_s) / (len(logs) - 1)
    label = "lora" if lora else "full"
    print(f"{label:>4}: {rate:8.1f} train tokens/s, {per_step:.2f} s/step (batch {args.batch_size}, "
          f"{result.resolved['trainable_parameters']:,} trainable parameters)", flush=True)  # fmt: skip
    return rate, result.final_dir


def measure_generation(final_dir: Path, device: str) -> None:
    student = load_student(str(final_dir), device=device)
    sources = [s for s, _ in PAIRS] * 2
    began = time.perf_counter()
    outputs = [o[0] for o in student.generate(sources, max_new_tokens=32, batch_size=16)]
    seconds = time.perf_counter() - began
    tokens = sum(len(student.tokenizer(o, add_special_tokens=False)["input_ids"]) + 1 for o in outputs)
    print(f"eval generation (greedy, batch 16, <=32 new tokens): {len(outputs) / seconds:.2f} outputs/s, "
          f"{tokens / seconds:.1f} generated tokens/s", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student", default="embedded")
    parser.add_argument(
        "--steps", type=int, default=6, help="measured steps per mode (after one warm-up step)"
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    import torch

    print(f"student {args.student} on {args.device}, torch threads {torch.get_num_threads()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        full, final_dir = measure_training(args, lora=False, folder=Path(tmp) / "full")
        lora, _ = measure_training(args, lora=True, folder=Path(tmp) / "lora")
        measure_generation(final_dir, args.device)
    print(f"train_tokens_per_s={full:.1f} lora_speedup={lora / full:.2f}")


if __name__ == "__main__":
    main()
