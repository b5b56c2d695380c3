"""Validated imports: JSONL pairs (optionally with a human ``label`` and ``note``), and labelled public data
in the MRPC and SICK formats.

Every line is checked before anything is written; a file with bad lines raises ``ImportFileError`` listing
each one by number and nothing is imported. Pairs go in through ``db.queries.insert_pairs`` (duplicates
skipped and counted) and labels into the same ``labels`` table the Review page writes, in one transaction.

Formats (``--format``):

- ``jsonl``: ``{"source", "target"[, "task", "scores", "provenance", "label", "note"]}`` per line;
  ``label`` is ``"accept"``, ``"reject"`` or null.
- ``mrpc``: the MSR paraphrase TSV (quality, id1, id2, sentence1, sentence2); quality 1 -> accept,
  0 -> reject; sentence1 is the source. A header row (``Quality ...``) and a UTF-8 BOM are skipped.
- ``sick``: the SICK TSV (pair id, sentence A, sentence B, relatedness, entailment label);
  ``ENTAILMENT`` (A entails B) -> accept, ``NEUTRAL`` / ``CONTRADICTION`` -> reject. A header row is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from db.jobs import now
from db.queries import insert_pairs
from db.schema import SCORE_COLUMNS, labels, pairs
from db.scores import UNIT_COLUMNS
from db.types import TASKS, Pair
from db.values import INT32, loads_strict, text_problem

FORMATS = ("jsonl", "mrpc", "sick")
DECISIONS = ("accept", "reject")
IMPORT_QUEUE = "import"  # labels.queue of labels brought in by a file (not a random review sample)
CHUNK_ROWS = 5_000
MAX_REPORTED_ERRORS = 50
SICK_LABELS = {"ENTAILMENT": "accept", "NEUTRAL": "reject", "CONTRADICTION": "reject"}


class ImportFileError(ValueError):
    """A file with bad lines; ``errors`` lists every one as ``"line N: why"``."""

    def __init__(self, path: Path | str, errors: list[str]):
        self.errors = errors
        shown = "; ".join(errors[:MAX_REPORTED_ERRORS])
        more = f" (and {len(errors) - MAX_REPORTED_ERRORS} more)" if len(errors) > MAX_REPORTED_ERRORS else ""
        super().__init__(
            f"{path}: {len(errors)} bad line(s), nothing imported. Fix them and import again: {shown}{more}"
        )


# ---- one line -> one record ----------------------------------------------------------------------------
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
        problem = text_problem(value)  # a TSV line is not parsed as JSON, so check the text itself
        if problem:
            return f"'{key}' {problem}"
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


def _label_problem(record: dict[str, Any]) -> str | None:
    label = record.get("label")
    if label is not None and label not in DECISIONS:
        return f"label {str(label)[:40]!r} must be accept, reject or null"
    note = record.get("note")
    if note is not None and not isinstance(note, str):
        return "'note' must be a string"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_record(record: Any, task: str | None) -> str | None:
    """Why a parsed record cannot be imported, or None when it is fine (a JSONL line is strict JSON
    already: no NaN, NUL, unpaired surrogate or over-long number anywhere in it)."""
    if not isinstance(record, dict):
        return "not a JSON object"
    return (
        _text_problem(record)
        or _task_problem(record, task)
        or (_scores_problem(record["scores"]) if record.get("scores") is not None else None)
        or (_provenance_problem(record["provenance"]) if record.get("provenance") is not None else None)
        or _label_problem(record)
    )


def _tsv_fields(line: str, count: int, fmt: str) -> list[str]:
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) != count:
        raise ValueError(f"{len(fields)} tab-separated field(s), a {fmt} line has {count}")
    return fields


def mrpc_record(line: str) -> dict[str, Any]:
    """quality, id1, id2, sentence1, sentence2 -> a labelled pair (sentence1 = source)."""
    quality, id1, id2, source, target = _tsv_fields(line, 5, "mrpc")
    if quality.strip() not in ("0", "1"):
        raise ValueError(f"quality {quality!r} must be 0 or 1")
    return {
        "source": source.strip(),
        "target": target.strip(),
        "label": "accept" if quality.strip() == "1" else "reject",
        "provenance": {"dataset": "mrpc", "id1": id1, "id2": id2},
    }


def sick_record(line: str) -> dict[str, Any]:
    """pair id, sentence A, sentence B, relatedness, entailment label -> a labelled pair (A = source)."""
    pair_id, source, target, relatedness, entailment = _tsv_fields(line, 5, "sick")
    decision = SICK_LABELS.get(entailment.strip().upper())
    if decision is None:
        raise ValueError(f"entailment label {entailment!r} must be ENTAILMENT, NEUTRAL or CONTRADICTION")
    return {
        "source": source.strip(),
        "target": target.strip(),
        "label": decision,
        "provenance": {
            "dataset": "sick",
            "pair_id": pair_id,
            "relatedness": relatedness,
            "entailment": entailment.strip().upper(),
        },
    }


def _is_header(fmt: str, number: int, line: str) -> bool:
    first = line.split("\t", 1)[0].strip().lower()
    return number == 1 and ((fmt == "mrpc" and first == "quality") or (fmt == "sick" and first == "pair_id"))


def parse_line(fmt: str, line: str) -> Any:
    """One line of a ``fmt`` file as a record; ``ValueError`` says why it is not one."""
    if fmt == "jsonl":
        return loads_strict(line)  # StrictJSONError (a ValueError) says what is wrong
    return mrpc_record(line) if fmt == "mrpc" else sick_record(line)


def _lines(path: Path, fmt: str) -> Iterator[tuple[int, str | None, str | None]]:
    """``(line number, text, problem)`` for every non-empty line; each line is decoded on its own, so a
    line that is not UTF-8 is named by its own number (a UTF-8 BOM on the first line is dropped)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield number, None, f"not UTF-8 text ({exc.reason})"
                continue
            if line.strip() and not _is_header(fmt, number, line):
                yield number, line, None


def _records(path: Path, fmt: str, task: str | None) -> Iterator[tuple[int, Any, str | None]]:
    """``(line number, record, problem)`` for every non-empty line."""
    for number, line, problem in _lines(path, fmt):
        if problem:
            yield number, None, problem
            continue
        try:
            record = parse_line(fmt, line)
        except ValueError as exc:
            yield number, None, str(exc)
            continue
        yield number, record, check_record(record, task)


def validate_file(
    path: Path | str, fmt: str = "jsonl", task: str | None = None, display_name: str | None = None
) -> int:
    """Check every line of ``path``; return the number of records or raise ``ImportFileError`` listing all
    bad lines by number. Messages name the file ``display_name`` (default: its path), so the studio can
    name the file the user chose rather than where the server keeps the upload."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown import format {fmt!r}; use one of {', '.join(FORMATS)}.")
    path = Path(path)
    name = display_name or str(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {name}")
    errors, count = [], 0
    for number, _, problem in _records(path, fmt, task):
        if problem:
            errors.append(f"line {number}: {problem}")
        count += 1
    if errors:
        raise ImportFileError(name, errors)
    if count == 0:
        raise ValueError(f"{name} holds no records; nothing to import.")
    return count


def validate_jsonl(path: Path | str, task: str | None = None) -> int:
    """``validate_file`` for JSONL."""
    return validate_file(path, "jsonl", task)


# ---- writing -------------------------------------------------------------------------------------------
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


def write_labels(conn: Connection, decided: dict[str, tuple[str, str]]) -> int:
    """Store ``{pair_key: (decision, note)}`` as human labels (replacing earlier ones); return how many."""
    keys = list(decided)
    stored = 0
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        ids = dict(
            conn.execute(select(pairs.c.pair_key, pairs.c.id).where(pairs.c.pair_key.in_(chunk))).all()
        )
        conn.execute(delete(labels).where(labels.c.pair_id.in_(list(ids.values()))))
        rows = [
            {
                "pair_id": ids[key],
                "decision": decided[key][0],
                "note": decided[key][1],
                "queue": IMPORT_QUEUE,
                "labelled_at": now(),
            }
            for key in chunk
            if key in ids
        ]
        if rows:
            conn.execute(insert(labels), rows)
        stored += len(rows)
    return stored


def import_labelled(
    engine: Engine,
    path: Path | str,
    fmt: str = "jsonl",
    task: str | None = None,
    display_name: str | None = None,
) -> dict[str, Any]:
    """Validate every line, then insert all pairs and their labels in one transaction.

    Duplicates are skipped (their label, if the file gives one, replaces the stored label). Returns
    ``{"file", "records", "inserted", "duplicates", "accepted", "rejected"}``.
    """
    path = Path(path)
    records = validate_file(path, fmt, task, display_name)
    inserted, decided = 0, {}
    with engine.begin() as conn:
        batch: list[Pair] = []
        for _, record, _ in _records(path, fmt, task):
            pair = _to_pair(record, task)
            batch.append(pair)
            if record.get("label") is not None:
                decided[pair.key] = (record["label"], record.get("note") or "")
            if len(batch) >= CHUNK_ROWS:
                inserted += insert_pairs(conn, batch)
                batch = []
        inserted += insert_pairs(conn, batch)
        write_labels(conn, decided)
    counts = [d for d, _ in decided.values()]
    return {
        "file": str(path),
        "records": records,
        "inserted": inserted,
        "duplicates": records - inserted,
        "accepted": counts.count("accept"),
        "rejected": counts.count("reject"),
    }


def import_jsonl(
    engine: Engine, path: Path | str, task: str | None = None, display_name: str | None = None
) -> dict[str, Any]:
    """``import_labelled`` for a JSONL file (the studio's Import button)."""
    return import_labelled(engine, path, "jsonl", task, display_name)


def read_labelled(path: Path | str, fmt: str = "jsonl", task: str | None = None) -> list[dict[str, Any]]:
    """The labelled records of a file (validated like an import; unlabelled lines are left out), each with
    its ``task`` filled in: training data for a learned critic without importing it."""
    path = Path(path)
    validate_file(path, fmt, task)
    out = []
    for _, record, _ in _records(path, fmt, task):
        if record.get("label") is not None:
            out.append({**record, "task": record.get("task", task or "paraphrase")})
    return out
