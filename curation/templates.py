"""The syntax template of each pair on a page: the top levels of its source's and target's stored parses
(what the syntax-controlled student reads). Read from ``parses``, one query per page; never parses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from db.parses import stored_parses
from models.parser import LINK_GRAMMAR
from models.trees import TOP_LEVELS, from_bracketed, template


def template_of(tree: str | None, levels: int = TOP_LEVELS) -> str | None:
    """The linearised top ``levels`` of a stored bracketed tree (None when there is no tree)."""
    return template(from_bracketed(tree), levels) if tree else None


def with_templates(
    engine: Engine, rows: list[dict[str, Any]], parser: str = LINK_GRAMMAR, levels: int = TOP_LEVELS
) -> list[dict[str, Any]]:
    """``rows`` with ``source_template`` / ``target_template`` (None: not parsed yet) and ``parse_error``
    (why the parser rejected a side, if it did)."""
    texts = {r[side] for r in rows for side in ("source", "target")}
    with engine.connect() as conn:
        found = stored_parses(conn, parser, texts)
    out = []
    for row in rows:
        source, target = found.get(row["source"]), found.get(row["target"])
        errors = [
            f"{side}: {p.error}" for side, p in (("source", source), ("target", target)) if p and p.error
        ]
        out.append(
            {
                **row,
                "source_template": template_of(source.tree if source else None, levels),
                "target_template": template_of(target.tree if target else None, levels),
                "parse_error": "; ".join(errors) or None,
            }
        )
    return out
