"""JSONL in and out: the selection (or a saved version) as one object per line, and validated imports.

Each exported line is ``{"id", "source", "target", "task", "scores", "provenance", "recipe", "label",
"kept_by"}``: ``label`` is the human decision on the pair (accept / reject / null) and ``kept_by`` says
whether the critics keep it under the recipe or only a human's accept does (against the critics). It reads with
``datasets.load_dataset("json", data_files=...)``. Export streams rows in chunks into a temporary file in
the destination folder and renames it only when complete, so a crash or a full disk never leaves a file
that looks finished. Importing (``curation.importing``, re-exported here) validates every line first.
"""

from __future__ import annotations

import errno
import json
import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import aliased

from curation.importing import ImportFileError, import_jsonl, import_labelled, validate_jsonl
from curation.recipe import Recipe
from curation.select import critic_survivors, selection_query
from curation.versions import get_version, version_recipe
from db.schema import SCORE_COLUMNS, contexts, labels, pairs, sentences, version_pairs

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
    "learned_model",
    "origin",
)
#: The longest file name (one path component) Linux, macOS and Windows file systems accept.
MAX_NAME_BYTES = 255

# the import side lives in curation.importing; these names stay importable from here
__all__ = [
    "ImportFileError",
    "check_file_name",
    "export_jsonl",
    "export_record",
    "import_jsonl",
    "human_overrides",
    "import_labelled",
    "iter_export",
    "safe_export_path",
    "validate_jsonl",
]


# ---- export ---------------------------------------------------------------------------------------------
def check_file_name(name: str) -> None:
    """Refuse a name with control characters (a newline, a tab, ...) or a part longer than the file system
    allows, with a message saying so instead of a raw ``Errno 36``."""
    shown = repr(name if len(name) <= 60 else name[:57] + "...")
    bad = next((ch for ch in name if unicodedata.category(ch) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        raise ValueError(
            f"Export name {shown} contains the control character {bad!r}; use letters, digits, '-', '_' and '.'."
        )
    for part in Path(name.replace("\\", "/")).parts:
        size = len(part.encode("utf-8", "surrogatepass"))
        if size > MAX_NAME_BYTES:
            raise ValueError(
                f"Export name {shown} is {size} bytes long; a file name may have at most {MAX_NAME_BYTES}. "
                "Choose a shorter name."
            )


def safe_export_path(folder: Path | str, name: str) -> Path:
    """``folder / name``, refusing a name that could write outside ``folder`` (absolute paths, ``..``,
    separators into other folders' links, or an existing symlink)."""
    if not name or not name.strip():
        raise ValueError("Export file name is empty; give a name such as pairs.jsonl.")
    check_file_name(name)
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
            labels.c.decision.label("label_decision"),
            labels.c.note.label("label_note"),
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
    """One JSONL object for a row of ``_export_query``: ``label`` / ``note`` are the human decision (or
    null), ``kept_by`` says whether the critics keep the pair or only a human's accept does. An imported
    pair keeps the provenance its file gave (origin included) wherever this database knows nothing better."""
    provenance = {
        "teacher": row.teacher,
        "context": row.context_text,
        "sampling": row.sampling,
        "seed": row.seed,
        "round": row.round,
        "job": row.job_id,
        "embed_model": row.embed_model,
        "nli_model": row.nli_model,
        "learned_model": row.learned_model,
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
        "label": row.label_decision,
        "note": row.label_note or None,
        "kept_by": "critics" if row.critics_keep else "human",
        "recipe": recipe_block,
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
    overridden = select(func.count()).where(rows.c.label_decision == "accept", ~rows.c.critics_keep)
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


def _strict_line(record: dict[str, Any]) -> str:
    """One strict JSON line (a bare NaN or Infinity would break strict parsers such as ``jq`` or JSON.parse)."""
    try:
        return json.dumps(record, ensure_ascii=False, allow_nan=False)
    except ValueError:
        raise ValueError(
            f"Pair {record['id']} holds NaN or Infinity (in its scores or provenance), which strict JSON "
            "cannot hold; nothing was written. Fix or re-score that pair and export again."
        ) from None


def export_jsonl(
    engine: Engine, out: Path | str, *, recipe: Recipe | None = None, version: str | int | None = None
) -> int:
    """Write the recipe's selection (or a saved version) to ``out`` as JSONL; return the number of lines.

    The file appears only when complete; on a full disk nothing is left behind and a clear error says so.
    """
    out = Path(out)
    check_file_name(out.name)
    if not out.parent.exists():
        raise ValueError(f"Cannot export to {out}: folder {out.parent} does not exist.")
    if out.is_dir():
        raise ValueError(f"Cannot export to {out}: it is a folder; give a file name such as pairs.jsonl.")
    temp = out.with_name(f".export-{os.getpid()}-{os.urandom(4).hex()}.partial")  # short: any name fits
    count = 0
    try:
        with temp.open("w", encoding="utf-8") as handle:
            for record in iter_export(engine, recipe=recipe, version=version):
                handle.write(_strict_line(record) + "\n")
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
