"""The one validation of a ``generate`` job's parameters against their spec (``pipeline.params.GENERATE``:
defaults, lower and upper bounds), used at submit by the CLI and the studio and again by the job when it
starts.

``validate_params`` is cheap (no file is read) so the studio can run it on every keystroke for its command
preview; ``validate_submission`` also reads the corpus, so an empty, malformed or binary one is refused
before anything is queued. Neither imports torch.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from db.types import TASKS
from db.values import storable_problem
from pipeline.executor import DEFAULTS as EXECUTOR_DEFAULTS
from pipeline.executor import validate_executor
from pipeline.params import GENERATE, Param, defaults, number_problem
from pipeline.runner import UserError
from pipeline.types import BACKENDS

#: Every parameter's default, and its bounds (``NUMBERS``), come from the one spec (``pipeline.params.GENERATE``);
#: the executor's three keys from ``pipeline.executor``.
DEFAULTS: dict[str, Any] = {**defaults(GENERATE), **EXECUTOR_DEFAULTS}
#: The bounded numbers, by name, checked by the spec's one number rule (``params.number_problem``).
NUMBERS: dict[str, Param] = {p.name: p for p in GENERATE if p.kind in (int, float) and p.low is not None}
DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d{1,2})?")
MAX_SPEC_CHARS = 1000


def _check_number(name: str, value: Any) -> None:
    problem = number_problem(NUMBERS[name], value)
    if problem:
        raise UserError(f"{name} {problem}, got {value!r}.")


def _check_text(name: str, value: Any, advice: str) -> None:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_SPEC_CHARS:
        raise UserError(f"{name} must be {advice} (at most {MAX_SPEC_CHARS} characters), got {value!r:.80}.")
    problem = storable_problem(value)
    if problem or any(ord(ch) < 32 for ch in value):
        raise UserError(f"{name} {value!r:.80} holds a control character; {advice}.")


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """The job's parameters with defaults filled in; raises ``UserError`` naming the bad one and its range.

    The result is always strict JSON (no NaN, no Infinity, no NUL), so it stores on every backend."""
    if not isinstance(params, dict):
        raise UserError("Generate parameters must be an object of name: value.")
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise UserError(f"Unknown generate parameter(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}.")
    p = {**DEFAULTS, **{k: v for k, v in params.items() if v is not None or k in ("corpus", "contexts")}}
    if p["task"] not in TASKS:
        raise UserError(f"Unknown task {p['task']!r}; use one of: {', '.join(TASKS)}.")
    _check_text("teacher", p["teacher"], "a Hugging Face id, a local path, or 'embedded'")
    if p["corpus"] is None and p["contexts"] is None:
        p["contexts"] = DEFAULTS["contexts"]
    for name in NUMBERS:
        if name != "contexts" or p[name] is not None:
            _check_number(name, p[name])
    if not isinstance(p["device"], str) or not DEVICE.fullmatch(p["device"]):
        raise UserError(f"device must be auto, cpu, mps, cuda or cuda:N, got {p['device']!r:.80}.")
    if p["backend"] not in BACKENDS:
        raise UserError(f"Unknown backend {p['backend']!r:.80}; use one of: {', '.join(BACKENDS)}.")
    p.update(validate_executor(p))
    if p["corpus"] is not None:
        _check_text("corpus", p["corpus"], "the path of a .txt or .jsonl file")
        if not Path(p["corpus"]).expanduser().is_file():
            raise UserError(
                f"Corpus {p['corpus']} does not exist or is not a file; pass a .txt or .jsonl file."
            )
    return p


def validate_submission(params: dict[str, Any], corpus_name: str | None = None) -> dict[str, Any]:
    """``validate_params`` plus a full read of the corpus (empty, malformed or binary is refused), for the
    moment a job is queued. ``corpus_name`` is how messages name the corpus (an upload's original name)."""
    from pipeline.contexts import read_corpus

    p = validate_params(params)
    if p["corpus"] is not None:
        read_corpus(p["corpus"], name=corpus_name)
    return p
