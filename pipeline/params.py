"""One parameter spec per job kind: each field's default, bounds, help text and CLI flag, in one place.

The ``generate`` job validates with it (``pipeline.generate_params``), the ``evaluate`` and ``distill``
jobs with ``check``; the CLI builds its flags from it (``add_flags``), and the studio takes its form
defaults and its command previews from it (``command``). Adding a parameter is one ``Param`` here.
Torch-free and gradio-free.
"""

from __future__ import annotations

import argparse
import math
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from db import display_url
from db.types import TASKS
from pipeline.runner import UserError
from pipeline.types import BACKENDS


@dataclass(frozen=True)
class Param:
    """One job parameter. ``kind`` is int, float, str or bool (a bool is a switch flag); ``low`` and
    ``high`` bound a number; ``cli_default`` is what the CLI passes when the flag is absent (``None``:
    the job's default applies); ``flag`` is the CLI option (default ``--name-with-dashes``);
    ``required`` flags must be given; flags sharing an ``exclusive`` name cannot be given together;
    ``preview`` is False for a parameter the studio's command preview leaves out. A bool is a switch:
    its flag sets True, or False when the default is True (``--no-score``)."""

    name: str
    default: Any
    help: str
    kind: type = str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    cli: bool = True
    cli_default: Any = None
    metavar: str | None = None
    option: str | None = None
    required: bool = False
    exclusive: str | None = None
    preview: bool = True

    @property
    def flag(self) -> str:
        return self.option or "--" + self.name.replace("_", "-")

    @property
    def switch_value(self) -> bool:
        """What a bool's flag sets: the opposite of a True default, else True."""
        return self.default is not True

    def cli_help(self) -> str:
        if self.kind is bool or self.default is None:
            return self.help
        return f"{self.help} (default {f'{self.default:,}' if self.kind is int else self.default})"


def defaults(spec: Sequence[Param]) -> dict[str, Any]:
    """Every parameter's default, by name."""
    return {p.name: p.default for p in spec}


def field(spec: Sequence[Param], name: str) -> Param:
    return next(p for p in spec if p.name == name)


def add_flags(parser: argparse.ArgumentParser, spec: Sequence[Param]) -> None:
    """One ``argparse`` option per CLI parameter of ``spec``."""
    groups: dict[str, Any] = {}
    for p in spec:
        if not p.cli:
            continue
        target = parser
        if p.exclusive:
            if p.exclusive not in groups:
                groups[p.exclusive] = parser.add_mutually_exclusive_group()
            target = groups[p.exclusive]
        if p.kind is bool:  # absent: None (the job's default applies)
            target.add_argument(p.flag, dest=p.name, action="store_const", const=p.switch_value,
                                default=None, help=p.cli_help())  # fmt: skip
            continue
        target.add_argument(p.flag, dest=p.name, type=p.kind, default=p.cli_default, choices=p.choices,
                            metavar=p.metavar, required=p.required, help=p.cli_help())  # fmt: skip


def params_from_args(args: argparse.Namespace, spec: Sequence[Param]) -> dict[str, Any]:
    """The job's parameters as the user gave them on the command line (``None``: not given, which is also
    what an absent switch gives)."""
    return {p.name: getattr(args, p.name) for p in spec if p.cli}


def number_problem(p: Param, value: Any) -> str | None:
    """Why ``value`` is not a number of ``p``'s kind within its bounds (``must be a whole number from 2 to
    1,000``), or ``None``: the one number rule of every job's parameters."""
    whole = p.kind is int
    kind_ok = not isinstance(value, bool) and isinstance(value, int if whole else (int, float))
    fits = (
        kind_ok
        and (whole or math.isfinite(value))
        and (p.low is None or value >= p.low)
        and (p.high is None or value <= p.high)
    )
    if fits:
        return None

    def shown(bound: float) -> str:
        return f"{int(bound):,}" if whole else f"{bound:g}"

    if p.low is not None and p.high is not None:
        bounds = f" from {shown(p.low)} to {shown(p.high)}"
    elif p.low is not None:
        bounds = f" of at least {shown(p.low)}"
    elif p.high is not None:
        bounds = f" of at most {shown(p.high)}"
    else:
        bounds = "" if whole else " (finite)"
    return f"must be {'a whole number' if whole else 'a number'}{bounds}"


def _problem(p: Param, value: Any) -> str | None:
    """Why ``value`` does not fit ``p`` (kind, bounds, choices), or ``None``."""
    if p.choices is not None and value not in p.choices:
        return f"must be one of {', '.join(p.choices)}"
    if p.kind is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if p.kind in (int, float):
        return number_problem(p, value)
    return None if isinstance(value, str) else "must be text"


def check(spec: Sequence[Param], params: dict[str, Any], job: str) -> dict[str, Any]:
    """``params`` checked against ``spec`` (unknown names, required ones, kinds, bounds, choices), with
    every default filled in; ``UserError`` names the first bad parameter. ``None`` means not given."""
    if not isinstance(params, dict):
        raise UserError(f"{job} parameters must be an object of name: value.")
    known = {p.name: p for p in spec}
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise UserError(f"Unknown {job} parameter(s) {', '.join(unknown)}; known: {', '.join(known)}.")
    checked = defaults(spec)
    for name, value in params.items():
        if value is None:
            continue
        problem = _problem(known[name], value)
        if problem:
            raise UserError(f"{job} parameter {name} {problem}, got {value!r:.80}.")
        checked[name] = value
    missing = [p.flag for p in spec if p.required and checked.get(p.name) is None]
    if missing:
        raise UserError(f"The {job} job needs {', '.join(missing)}.")
    return checked


def command(verb: str, db_url: str, params: dict[str, Any], spec: Sequence[Param]) -> str:
    """The ``impossible <verb>`` command line that queues the same job as ``params``: one flag per
    parameter that is set (switches only when true)."""
    argv = ["impossible", verb, "--db", display_url(db_url)]
    for p in spec:
        value = params.get(p.name)
        if not (p.cli and p.preview) or value in (None, "", []):
            continue
        if p.kind is bool:
            argv += [p.flag] if value == p.switch_value else []
        else:
            argv += [p.flag, str(value)]
    return shlex.join(argv)


# ---- generate -----------------------------------------------------------------------------------------
#: ``seed + context index`` is stored in a 32-bit column, so the largest seed plus the most contexts stays
#: below 2**31; a temperature near 0 overflows the logits, above 5 is noise; a pair needs two samples.
GENERATE: tuple[Param, ...] = (
    Param("teacher", "embedded", "Hugging Face id, local folder, .gguf file, or 'embedded'"),
    Param("task", "paraphrase", "what the pairs are for", choices=TASKS),
    Param(
        "contexts",
        20,
        "contexts to sample (with --corpus: the most to use, all when not given)",
        int,
        1,
        10_000_000,
    ),  # fmt: skip
    Param("samples", 16, "k: samples per context, 2-1000", int, 2, 1000),
    Param("temperature", 0.5, "sampling temperature, 0.01-5", float, 0.01, 5.0),
    Param("top_p", 0.9, "nucleus sampling mass", float, 0.01, 1.0),
    Param("seed", 0, "context i samples with seed + i", int, 0, 2_000_000_000),
    Param("device", "auto", "auto (CUDA when present), cpu, or cuda[:n]"),
    Param(
        "backend",
        "auto",
        "teacher decoding engine: auto is ctranslate2 on CPU, vllm on CUDA when installed, else torch",
        choices=BACKENDS,
    ),  # fmt: skip
    Param("corpus", None, "your own contexts: a .txt (one per line or paragraph) or .jsonl"),
    Param("top_k", 50, "top-k applied before top-p; 0 = off", int, 0, 100_000),
    Param("no_repeat_ngram_size", 3, "ban repeated n-grams; 0 = off", int, 0, 32),
    Param("max_new_tokens", 60, "cap per sample, 1-2048", int, 1, 2048),
    Param("context_temperature", 1.0, "temperature for sampling contexts", float, 0.01, 5.0),
    Param("batch_contexts", 4, "contexts decoded together per batch", int, 1, 1024),
    Param("round", 0, "self-distillation round recorded on every row", int, 0, 1000),
)

# ---- score (the pre-gate's --gate-min / --gate-max, repeatable NAME=VALUE pairs, are cli/score_cmds.py's) --
SCORE: tuple[Param, ...] = (
    Param(
        "nli",
        None,
        "NLI classifier (hub id or folder), e.g. alisawuffles/roberta-large-wanli",
        metavar="ID_OR_PATH",
    ),  # fmt: skip
    Param(
        "embedder",
        "embedded",
        "sentence embedder: 'embedded' (all-MiniLM-L6-v2), a hub id or folder, or 'none'",
        metavar="embedded|ID|none",
        cli_default="embedded",
    ),  # fmt: skip
    Param("batch_size", 512, "pairs per committed batch", int, 1, 100_000, cli_default=512),
    Param("device", "auto", "auto (CUDA when present), cpu, cuda, cuda:1, ...", cli_default="auto"),
    Param(
        "critic",
        None,
        "a learned critic's folder (`impossible critic train`): writes its p(accept) into `learned`",
        metavar="DIR",
    ),  # fmt: skip
    Param(
        "parser",
        "auto",
        "constituency parser for the ted critic: 'auto' (link-grammar when installed), "
        "'link-grammar' (an error when missing) or 'none'",
        metavar="auto|link-grammar|none",
        cli_default="auto",
    ),  # fmt: skip
    Param(
        "dedup_threshold",
        0.75,
        "mutual entailment (or cosine without NLI) at which two sentences are the same",
        float,
        cli_default=0.75,
    ),  # fmt: skip
)

# ---- train ----------------------------------------------------------------------------------------------
#: The job checks every given value against these (``pipeline.train_job.train_config``) and leaves what is
#: not given to ``models.train.TrainConfig`` (``lr``'s default depends on ``lora``); the studio's train form
#: uses the same bounds. The ``cli=False`` ones are job parameters without a flag.
TRAIN: tuple[Param, ...] = (
    Param("version", None, "version name (or id) to train on", required=True),
    Param("lora", None, "train a LoRA adapter (merged into the saved model)", bool),
    Param(
        "syntax",
        None,
        "syntax-controlled: the student reads source + the target's parse template (needs link-grammar)",
        bool,
    ),  # fmt: skip
    Param(
        "student",
        "embedded",
        "hub id, local folder, .gguf file, or 'embedded' (SmolLM2-135M)",
        cli_default="embedded",
    ),  # fmt: skip
    Param("epochs", 1, "passes over the training pairs", int, 1, 1000, exclusive="steps"),
    Param("max_steps", None, "optimizer steps (overrides epochs)", int, 1, 10_000_000, exclusive="steps"),
    Param("lr", 5e-5, "peak learning rate (2e-4 with --lora)", float, 1e-8, 1.0),
    Param("batch_size", 8, "pairs per step", int, 1, 4096),
    Param("eval_fraction", 0.1, "share of pairs held out for eval loss", float, 0.0, 0.5),
    Param("checkpoint_every", 50, "steps between checkpoints", int, 1, 1_000_000, preview=False),
    Param("seed", 0, "data order and initialisation seed", int, 0, 2_000_000_000),
    Param("eval_every", 25, "steps between eval-loss measurements", int, 1, 1_000_000, cli=False),
    Param("keep_checkpoints", 2, "checkpoints kept on disk", int, 1, 1000, cli=False),
    Param("warmup_fraction", 0.05, "share of steps with a linear warmup", float, 0.0, 1.0, cli=False),
    Param("weight_decay", 0.01, "AdamW weight decay", float, 0.0, 1.0, cli=False),
    Param("grad_clip", 1.0, "gradient norm clip", float, 0.0, 1000.0, cli=False),
    Param("lora_r", 8, "LoRA rank", int, 1, 1024, cli=False),
    Param("lora_alpha", 16, "LoRA alpha", int, 1, 4096, cli=False),
    Param("lora_dropout", 0.05, "LoRA dropout", float, 0.0, 0.9, cli=False),
    Param("max_source_tokens", 128, "source tokens kept per pair", int, 1, 8192, cli=False),
    Param("max_target_tokens", 96, "target tokens kept per pair", int, 1, 8192, cli=False),
    Param("device", "auto", "auto (CUDA when present), cpu, cuda, cuda:1, ..."),
    Param(
        "output_dir",
        None,
        "where checkpoints and the final model go (default: "
        "runs/<db>-<db id>-run<run id> beside a SQLite file)",
    ),  # fmt: skip
)

# ---- evaluate -------------------------------------------------------------------------------------------
#: The job checks every value against these (``check``); the studio form uses the same bounds.
EVALUATE: tuple[Param, ...] = (
    Param("run", None, "training run id (see `impossible runs`)", int, low=1, required=True),
    Param("benchmark", None, "benchmark file or folder", required=True),
    Param(
        "format",
        "auto",
        "benchmark format",
        choices=("auto", "mrpc", "jsonl", "lines", "tsv"),
        cli_default="auto",
    ),  # fmt: skip
    Param("limit", None, "evaluate the first N rows only", int, low=1),
    Param("alpha", 0.7, "iBLEU weight on BLEU to the reference", float, 0.0, 1.0, cli_default=0.7),
    Param("samples", 0, "sampled outputs per source for self-BLEU (0 = skip)", int, 0, 50, cli_default=0),
    Param(
        "embedder",
        "embedded",
        "encoder for the BERTScore-style metrics ('' to skip)",
        cli_default="embedded",
        preview=False,
    ),  # fmt: skip
    Param("untrained", None, "also the run's base student before training, prompted the same way", bool),
    Param(
        "syntax",
        None,
        "the syntax evaluation: TED-R for every system, an error when link-grammar is missing "
        "(without it TED-R is added whenever link-grammar is installed)",
        bool,
    ),  # fmt: skip
    Param(
        "exemplars",
        None,
        "templates from exemplar sentences, one per benchmark row (.txt lines or .jsonl 'exemplar'/'text'), "
        "instead of the references' parses (needs link-grammar)",
        metavar="PATH",
    ),  # fmt: skip
    Param("batch_size", 16, "rows decoded together", int, 1, 4096, cli_default=16, preview=False),
    Param("max_new_tokens", 64, "cap per output", int, 1, 2048, cli_default=64, preview=False),
    Param("device", None, "auto (CUDA when present), cpu, cuda, ...", preview=False),
)


# ---- distill --------------------------------------------------------------------------------------------
#: The sampling defaults are the paper's (method.md step 6). The executor's keys are ``pipeline.executor``'s.
STUDENT_BACKENDS = ("auto", "torch", "ctranslate2")
DISTILL: tuple[Param, ...] = (
    Param("run", None, "training run id whose student proposes", int, low=1, required=True),
    Param("contexts", 20, "fresh source sentences", int, 1, 10_000_000),
    Param("samples", 10, "proposals per source", int, 1, 1000),
    Param("corpus", None, "text/JSONL file of sources (default: stored teacher sentences)"),
    Param("seed", 0, "batch i samples with seed + its first source's index", int, 0, 2_000_000_000),
    Param("top_p", 0.9, "nucleus sampling mass", float, 0.01, 1.0),
    Param("temperature", 0.7, "sampling temperature", float, 0.01, 5.0),
    Param("no_repeat_ngram_size", 3, "ban repeated n-grams; 0 = off", int, 0, 32),
    Param("max_new_tokens", 64, "cap per proposal", int, 1, 2048),
    Param("batch_size", 8, "sources per committed batch (a work unit on Ray)", int, 1, 10_000),
    Param("score", True, "do not score the new pairs afterwards", bool, option="--no-score"),
    Param(
        "nli", None, "NLI model for the score job (default: none, embedding similarity)", metavar="ID_OR_PATH"
    ),
    Param("embedder", "embedded", "embedder for the score job", preview=False),
    Param("device", None, "auto (CUDA when present), cpu, cuda, ..."),
    Param(
        "backend",
        "auto",
        "student decoding: auto (ctranslate2 for a causal student on CPU, else torch)",
        choices=STUDENT_BACKENDS,
    ),  # fmt: skip
)


def train_command(db_url: str, params: dict[str, Any]) -> str:
    """The ``impossible train`` command that queues the same job as ``params``."""
    return command("train", db_url, params, TRAIN)


def evaluate_command(db_url: str, params: dict[str, Any]) -> str:
    """The ``impossible evaluate`` command that queues the same job as ``params``."""
    return command("evaluate", db_url, params, EVALUATE)
