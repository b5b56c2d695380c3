"""JSONL in and out: the selection (or a saved version) as one object per line, and validated imports.

Each exported line is ``{"id", "source", "target", "task", "scores", "provenance", "recipe", "label",
"kept_by"}``: ``label`` is the human decision on the pair (accept / reject / null) and ``kept_by`` says
whether the critics keep it under the recipe or only a human's accept does (against the critics). It reads with
``datasets.load_dataset("json", data_files=...)``. Export streams rows in chunks into a temporary file in
the destination folder and renames it only when complete, so a crash or a full disk never leaves a file
that looks finished. Import validates every line before writing anything.
"""

from __future__ import annotations

import errno
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import aliased

from curation.recipe import UNIT_COLUMNS, Recipe
from curation.select import critic_survivors, selection_query
from curation.versions import get_version, version_recipe
from db.queries import insert_pairs
from db.schema import SCORE_COLUMNS, contexts, labels, pairs, sentences, version_pairs
from pipeline.types import TASKS, Pair

CHUNK_ROWS = 5_000
PROVENANCE_KEYS = (
    "teacher",
    "context",
    "sampling",
    "seed",
    "round",
    "job",
    "embed_model",
    "nli_model",
    "origin",
)
MAX_REPORTED_ERRORS = 50


class ImportFileError(ValueError):
    """A JSONL file with bad lines; ``errors`` lists every one as ``"line N: why"``."""

    def __init__(self, path: Path | str, errors: list[str]):
        self.errors = errors
        shown = "; ".join(errors[:MAX_REPORTED_ERRORS])
        more = f" (and {len(errors) - MAX_REPORTED_ERRORS} more)" if len(errors) > MAX_REPORTED_ERRORS else ""
        super().__init__(
            f"{path}: {len(errors)} bad line(s), nothing imported. Fix them and import again: {shown}{more}"
        )


# ---- export ---------------------------------------------------------------------------------------------
def safe_export_path(folder: Path | str, name: str) -> Path:
    """``folder / name``, refusing a name that could write outside ``folder`` (absolute paths, ``..``,
    separators into other folders' links, or an existing symlink)."""
    if not name or not name.strip():
        raise ValueError("Export file name is empty; give a name such as pairs.jsonl.")
    if "\x00" in name or Path(name).is_absolute() or name.startswith(("/", "\\")):
        raise ValueError(f"Export name {name!r} must be a plain file name inside the export folder.")
    parts = Path(name.replace("\\", "/")).parts
    if any(part in ("..", ".") for part in parts):
        raise ValueError(f"Export name {name!r} may not contain '..'; give a plain file name.")
    root = Path(folder).resolve()
    candidate = root / Path(*parts)
    if candidate.is_symlink() or not candidate.resolve().is_relative_to(root):
        raise ValueError(f"Export name {name!r} points outside {root} (through a link); choose another name.")
    return candidate


def _export_query(recipe: Recipe, version_id: int | None) -> Select:
    source_sentence = aliased(sentences)
    query = (
        select(
            pairs,
            contexts.c.text.label("context_text"),
            source_sentence.c.model.label("teacher"),
            source_sentence.c.sampling.label("sampling"),
            source_sentence.c.seed.label("seed"),
            labels.c.decision.label("human_label"),
            pairs.c.id.in_(critic_survivors(recipe)).label("critics_keep"),
        )
        .outerjoin(contexts, contexts.c.id == pairs.c.context_id)
        .outerjoin(source_sentence, source_sentence.c.id == pairs.c.source_sentence_id)
        .outerjoin(labels, labels.c.pair_id == pairs.c.id)
        .order_by(pairs.c.id)
    )
    if version_id is None:
        return query.where(pairs.c.id.in_(selection_query(recipe).order_by(None)))
    return query.join(version_pairs, version_pairs.c.pair_id == pairs.c.id).where(
        version_pairs.c.version_id == version_id
    )


def export_record(row: Any, recipe_block: dict[str, Any]) -> dict[str, Any]:
    """One JSONL object for a row of ``_export_query``. An imported pair keeps the provenance its file
    gave (origin included) wherever this database knows nothing better."""
    provenance = {
        "teacher": row.teacher,
        "context": row.context_text,
        "sampling": row.sampling,
        "seed": row.seed,
        "round": row.round,
        "job": row.job_id,
        "embed_model": row.embed_model,
        "nli_model": row.nli_model,
        "origin": row.origin,
    }
    stored = row.provenance or {}
    for key, value in stored.items():
        if value is not None and (
            provenance.get(key) is None or (key == "origin" and row.origin == "imported")
        ):
            provenance[key] = value
    return {
        "id": row.id,
        "source": row.source,
        "target": row.target,
        "task": row.task,
        "scores": {column: getattr(row, column) for column in SCORE_COLUMNS},
        "provenance": provenance,
        "recipe": recipe_block,
        "label": row.human_label,
        "kept_by": "critics" if row.critics_keep else "human",
    }


def _export_source(
    engine: Engine, recipe: Recipe | None, version: str | int | None
) -> tuple[Recipe, int | None, dict[str, Any]]:
    """The recipe, version id (or None) and ``recipe`` block of an export of a recipe or a version."""
    if (recipe is None) == (version is None):
        raise ValueError("Export needs exactly one of a recipe or a version.")
    if version is None:
        return recipe, None, {**recipe.to_dict(), "hash": recipe.hash}
    row = get_version(engine, version)
    block = {**version_recipe(row).to_dict(), "hash": row["recipe_hash"], "version": row["name"]}
    return version_recipe(row), row["id"], block


def human_overrides(engine: Engine, *, recipe: Recipe | None = None, version: str | int | None = None) -> int:
    """How many pairs of the export are in only because a human accepted them against the critics (the
    lines with ``"kept_by": "human"``)."""
    recipe, version_id, _ = _export_source(engine, recipe, version)
    rows = _export_query(recipe, version_id).order_by(None).subquery()
    overridden = select(func.count()).where(rows.c.human_label == "accept", ~rows.c.critics_keep)
    with engine.connect() as conn:
        return conn.execute(overridden).scalar_one()


def iter_export(
    engine: Engine, *, recipe: Recipe | None = None, version: str | int | None = None
) -> Iterator[dict[str, Any]]:
    """The export's records, streamed from the database ``CHUNK_ROWS`` at a time."""
    recipe, version_id, block = _export_source(engine, recipe, version)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=CHUNK_ROWS).execute(
            _export_query(recipe, version_id)
        )
        for chunk in result.partitions(CHUNK_ROWS):
            for row in chunk:
                yield export_record(row, block)


def export_jsonl(
    engine: Engine, out: Path | str, *, recipe: Recipe | None = None, version: str | int | None = None
) -> int:
    """Write the recipe's selection (or a saved version) to ``out`` as JSONL; return the number of lines.

    The file appears only when complete; on a full disk nothing is left behind and a clear error says so.
    """
    out = Path(out)
    if not out.parent.exists():
        raise ValueError(f"Cannot export to {out}: folder {out.parent} does not exist.")
    if out.is_dir():
        raise ValueError(f"Cannot export to {out}: it is a folder; give a file name such as pairs.jsonl.")
    temp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    count = 0
    try:
        with temp.open("w", encoding="utf-8") as handle:
            for record in iter_export(engine, recipe=recipe, version=version):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, out)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise ValueError(
                f"Disk full while exporting to {out}; nothing was written. Free some space and export again."
            ) from exc
        raise
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return count


# ---- import ---------------------------------------------------------------------------------------------
def _check_record(record: Any, task: str | None) -> str | None:
    """Why a parsed line cannot be imported, or None when it is fine."""
    if not isinstance(record, dict):
        return "not a JSON object"
    for key in ("source", "target"):
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            return f"'{key}' must be a non-empty string"
    record_task = record.get("task", task or "paraphrase")
    if record_task not in TASKS:
        return f"task {record_task!r} is not one of {', '.join(TASKS)}"
    if task is not None and record_task != task:
        return f"task {record_task!r} differs from --task {task}"
    scores = record.get("scores") or {}
    if not isinstance(scores, dict):
        return "'scores' must be an object"
    for column, value in scores.items():
        if column not in SCORE_COLUMNS:
            return f"unknown score {column!r} (known: {', '.join(SCORE_COLUMNS)})"
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"score {column} must be a number, not {value!r}"
        if value < 0 or (column in UNIT_COLUMNS and value > 1):
            return f"score {column}={value} is out of range"
    provenance = record.get("provenance")
    if provenance is not None and not isinstance(provenance, dict):
        return "'provenance' must be an object"
    return None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="strict") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, line


def validate_jsonl(path: Path | str, task: str | None = None, display_name: str | None = None) -> int:
    """Check every line of ``path``; return the number of records or raise ``ImportFileError`` listing all
    bad lines by number. Messages name the file ``display_name`` (default: the path)."""
    path = Path(path)
    name = display_name or str(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {name}")
    errors, count = [], 0
    try:
        for number, line in _lines(path):
            try:
                problem = _check_record(json.loads(line), task)
            except json.JSONDecodeError as exc:
                problem = f"invalid JSON ({exc.msg})"
            if problem:
                errors.append(f"line {number}: {problem}")
            count += 1
    except UnicodeDecodeError as exc:
        errors.append(f"line {count + 1}: not UTF-8 text ({exc.reason})")
    if errors:
        raise ImportFileError(name, errors)
    if count == 0:
        raise ValueError(f"{name} holds no records; nothing to import.")
    return count


def _to_pair(record: dict[str, Any], task: str | None) -> Pair:
    provenance = dict(record.get("provenance") or {})
    round_ = provenance.get("round")
    return Pair(
        source=record["source"],
        target=record["target"],
        task=record.get("task", task or "paraphrase"),
        origin="imported",
        round=round_ if isinstance(round_, int) and not isinstance(round_, bool) else 0,
        provenance=provenance,
        scores={k: float(v) for k, v in (record.get("scores") or {}).items() if v is not None},
    )


def import_jsonl(
    engine: Engine, path: Path | str, task: str | None = None, display_name: str | None = None
) -> dict[str, Any]:
    """Validate every line, then insert all pairs in one transaction (duplicates skipped and counted).

    Given scores are kept; the score job fills in the missing ones. Error messages name the file
    ``display_name`` (the studio passes the uploaded file's own name). Returns ``{"file", "records",
    "inserted", "duplicates"}``.
    """
    path = Path(path)
    records = validate_jsonl(path, task, display_name)
    inserted = 0
    with engine.begin() as conn:
        batch: list[Pair] = []
        for _, line in _lines(path):
            batch.append(_to_pair(json.loads(line), task))
            if len(batch) >= CHUNK_ROWS:
                inserted += insert_pairs(conn, batch)
                batch = []
        inserted += insert_pairs(conn, batch)
    return {"file": str(path), "records": records, "inserted": inserted, "duplicates": records - inserted}
