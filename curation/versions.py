"""Named dataset versions: a recipe's selection frozen as pair ids, with the recipe and its hash.

Saving copies the selection (thresholds, dedup and human decisions as they are now) into
``version_pairs`` inside one transaction, so later labels or re-scoring never change a saved version.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import Engine, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from curation.recipe import Recipe
from curation.select import selection_query
from db.jobs import now
from db.queries import pairs_by_id
from db.schema import version_pairs, versions

NAME_MAX = 128


class VersionError(ValueError):
    """A version name that is taken, empty, or unknown."""


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise VersionError("A version needs a name (for example: --name v1).")
    if len(name) > NAME_MAX:
        raise VersionError(f"Version name is {len(name)} characters; use at most {NAME_MAX}.")
    return name


def save_version(engine: Engine, name: str, recipe: Recipe) -> dict[str, Any]:
    """Freeze the recipe's current selection as version ``name``; return the version row.

    Raises ``VersionError`` when the name is empty or already used (nothing is written then).
    """
    name = _check_name(name)
    try:
        with engine.begin() as conn:
            version_id = conn.execute(
                insert(versions).values(
                    name=name,
                    recipe=recipe.to_dict(),
                    recipe_hash=recipe.hash,
                    pair_count=0,
                    created_at=now(),
                )
            ).inserted_primary_key[0]
            members = selection_query(recipe).order_by(None).subquery()
            conn.execute(
                insert(version_pairs).from_select(
                    ["version_id", "pair_id"], select(literal(version_id), members.c.id)
                )
            )
            count = conn.execute(
                select(func.count()).where(version_pairs.c.version_id == version_id)
            ).scalar_one()
            conn.execute(update(versions).where(versions.c.id == version_id).values(pair_count=count))
    except IntegrityError:
        raise VersionError(f"A version named {name!r} already exists; choose another name.") from None
    return get_version(engine, version_id)


def list_versions(engine: Engine) -> list[dict[str, Any]]:
    """Every version, oldest first: id, name, recipe, recipe_hash, pair_count, created_at."""
    with engine.connect() as conn:
        rows = conn.execute(select(versions).order_by(versions.c.id)).mappings().all()
    return [dict(row) for row in rows]


def get_version(engine: Engine, name_or_id: str | int) -> dict[str, Any]:
    """One version by name (or by id when no version has that name); ``VersionError`` when unknown."""
    with engine.connect() as conn:
        row = conn.execute(select(versions).where(versions.c.name == str(name_or_id))).mappings().first()
        if row is None and str(name_or_id).isdigit():
            row = conn.execute(select(versions).where(versions.c.id == int(name_or_id))).mappings().first()
    if row is None:
        known = ", ".join(v["name"] for v in list_versions(engine)) or "none saved yet"
        raise VersionError(f"No version named {name_or_id!r} (versions: {known}).")
    return dict(row)


def version_recipe(version: dict[str, Any]) -> Recipe:
    return Recipe.from_dict(version["recipe"])


def version_ids(engine: Engine, name_or_id: str | int) -> np.ndarray:
    """The frozen pair ids of a version, ascending."""
    version = get_version(engine, name_or_id)
    with engine.connect() as conn:
        ids = conn.execute(
            select(version_pairs.c.pair_id)
            .where(version_pairs.c.version_id == version["id"])
            .order_by(version_pairs.c.pair_id)
        ).scalars()
        return np.fromiter(ids, dtype=np.int64)


def diff_versions(engine: Engine, a: str | int, b: str | int, sample: int = 5) -> dict[str, Any]:
    """What changed from version ``a`` to ``b``: counts and a few sample rows of pairs added / removed,
    and the thresholds that differ."""
    va, vb = get_version(engine, a), get_version(engine, b)
    ids_a, ids_b = version_ids(engine, va["id"]), version_ids(engine, vb["id"])
    added = np.setdiff1d(ids_b, ids_a, assume_unique=True)
    removed = np.setdiff1d(ids_a, ids_b, assume_unique=True)
    keep = ("id", "source", "target")
    return {
        "a": {k: va[k] for k in ("id", "name", "recipe_hash", "pair_count")},
        "b": {k: vb[k] for k in ("id", "name", "recipe_hash", "pair_count")},
        "added": int(len(added)),
        "removed": int(len(removed)),
        "common": int(len(ids_a) - len(removed)),
        "recipe_changes": _recipe_changes(va["recipe"], vb["recipe"]),
        "added_sample": [{k: r[k] for k in keep} for r in pairs_by_id(engine, added[:sample].tolist())],
        "removed_sample": [{k: r[k] for k in keep} for r in pairs_by_id(engine, removed[:sample].tolist())],
    }


def _recipe_changes(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Human-readable differences between two recipe dicts, e.g. ``"min nli_forward: 0.75 -> 0.8"``."""
    changes = []
    for key in ("task", "dedup"):
        if a.get(key) != b.get(key):
            changes.append(f"{key}: {a.get(key)} -> {b.get(key)}")
    for bound in ("min", "max"):
        left, right = a.get(bound) or {}, b.get(bound) or {}
        for column in sorted(set(left) | set(right)):
            if left.get(column) != right.get(column):
                changes.append(f"{bound} {column}: {left.get(column, 'off')} -> {right.get(column, 'off')}")
    return changes
