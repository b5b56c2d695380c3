"""JSONL import: every line is validated (strict JSON, every field's type and range, text any backend can
store) before one transaction inserts all pairs; a bad file names each bad line and imports nothing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from curation.recipe import UNIT_COLUMNS
from db.queries import insert_pairs
from db.schema import SCORE_COLUMNS
from db.values import INT32, StrictJSONError, loads_strict
from pipeline.types import TASKS, Pair

CHUNK_ROWS = 5_000
MAX_REPORTED_ERRORS = 50


class ImportFileError(ValueError):
    """A JSONL file with bad lines; ``errors`` lists every one as ``"line N: why"``."""

    def __init__(self, path: Path, errors: list[str]):
        self.errors = errors
        shown = "; ".join(errors[:MAX_REPORTED_ERRORS])
        more = f" (and {len(errors) - MAX_REPORTED_ERRORS} more)" if len(errors) > MAX_REPORTED_ERRORS else ""
        super().__init__(
            f"{path}: {len(errors)} bad line(s), nothing imported. Fix them and import again: {shown}{more}"
        )


#: The longest source or target accepted (a sentence dataset; a longer text is almost surely a mistake).
MAX_TEXT_CHARS = 100_000
_PROVENANCE_TEXT = ("teacher", "context", "embed_model", "nli_model", "origin")


def _text_problem(record: dict[str, Any]) -> str | None:
    for key in ("source", "target"):
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            return f"'{key}' must be a non-empty string"
        if len(value) > MAX_TEXT_CHARS:
            return f"'{key}' is {len(value):,} characters long; at most {MAX_TEXT_CHARS:,}"
    return None


def _task_problem(record: dict[str, Any], task: str | None) -> str | None:
    record_task = record.get("task", task or "paraphrase")
    if record_task not in TASKS:
        return f"task {str(record_task)[:40]!r} is not one of {', '.join(TASKS)}"
    if task is not None and record_task != task:
        return f"task {record_task!r} differs from --task {task}"
    return None


def _scores_problem(scores: Any) -> str | None:
    if not isinstance(scores, dict):
        return "'scores' must be an object"
    for column, value in scores.items():
        if column not in SCORE_COLUMNS:
            return f"unknown score {column[:40]!r} (known: {', '.join(SCORE_COLUMNS)})"
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"score {column} must be a number, not {str(value)[:40]!r}"
        if value < 0 or (column in UNIT_COLUMNS and value > 1):
            return f"score {column}={value} is out of range"
    return None


def _provenance_problem(provenance: Any) -> str | None:
    if not isinstance(provenance, dict):
        return "'provenance' must be an object"
    round_ = provenance.get("round")
    if round_ is not None and (not _is_int(round_) or not 0 <= round_ <= INT32[1]):
        return f"provenance.round must be a whole number from 0 to {INT32[1]}, not {str(round_)[:40]!r}"
    for key in ("seed", "job"):
        if provenance.get(key) is not None and not _is_int(provenance[key]):
            return f"provenance.{key} must be a whole number, not {str(provenance[key])[:40]!r}"
    for key in _PROVENANCE_TEXT:
        if provenance.get(key) is not None and not isinstance(provenance[key], str):
            return f"provenance.{key} must be a string"
    if provenance.get("sampling") is not None and not isinstance(provenance["sampling"], dict):
        return "provenance.sampling must be an object"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_record(record: Any, task: str | None) -> str | None:
    """Why a parsed line cannot be imported, or None when it is fine (the line is strict JSON already:
    no NaN, NUL, unpaired surrogate or over-long number anywhere in it)."""
    if not isinstance(record, dict):
        return "not a JSON object"
    return (
        _text_problem(record)
        or _task_problem(record, task)
        or (_scores_problem(record["scores"]) if record.get("scores") is not None else None)
        or (_provenance_problem(record["provenance"]) if record.get("provenance") is not None else None)
    )


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="strict") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def validate_jsonl(path: Path | str, task: str | None = None) -> int:
    """Check every line of ``path``; return the number of records or raise ``ImportFileError`` listing all
    bad lines by number."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    errors, count, number = [], 0, 0
    try:
        for number, line in _lines(path):
            try:
                problem = _check_record(loads_strict(line), task)
            except StrictJSONError as exc:
                problem = str(exc)
            if problem:
                errors.append(f"line {number}: {problem}")
            count += 1
    except UnicodeDecodeError as exc:
        errors.append(f"line {number + 1}: not UTF-8 text ({exc.reason})")
    if errors:
        raise ImportFileError(path, errors)
    if count == 0:
        raise ValueError(f"{path} holds no records; nothing to import.")
    return count


def _to_pair(record: dict[str, Any], task: str | None) -> Pair:
    provenance = dict(record.get("provenance") or {})
    return Pair(
        source=record["source"],
        target=record["target"],
        task=record.get("task", task or "paraphrase"),
        origin="imported",
        round=provenance.get("round") or 0,
        provenance=provenance,
        scores={k: float(v) for k, v in (record.get("scores") or {}).items() if v is not None},
    )


def import_jsonl(engine: Engine, path: Path | str, task: str | None = None) -> dict[str, Any]:
    """Validate every line, then insert all pairs in one transaction (duplicates skipped and counted).

    Given scores are kept; the score job fills in the missing ones. Returns ``{"file", "records",
    "inserted", "duplicates"}``.
    """
    path = Path(path)
    records = validate_jsonl(path, task)
    inserted = 0
    with engine.begin() as conn:
        batch: list[Pair] = []
        for _, line in _lines(path):
            batch.append(_to_pair(loads_strict(line), task))
            if len(batch) >= CHUNK_ROWS:
                inserted += insert_pairs(conn, batch)
                batch = []
        inserted += insert_pairs(conn, batch)
    return {"file": str(path), "records": records, "inserted": inserted, "duplicates": records - inserted}
