"""The ``ted`` critic: tree edit distance between the source's and the target's constituency trees.

Each sentence is parsed once per parser and stored in ``parses`` (tree or parse error), so a sentence
shared by many pairs, jobs or imports is never parsed again. ``ted`` is TED-F (the full trees, as
``models.trees.ted``); a pair whose source or target the parser rejects gets ``ted_error`` instead and
the job goes on. Only paraphrase pairs get a ``ted`` (the summary recipe has no syntax critic).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine

from db.parses import StoredParse, forget_parses, store_parses, stored_parses
from models.parser import (
    LINK_GRAMMAR,
    PARSERS,
    ParseError,
    Parser,
    ParserLoadError,
    import_linkgrammar,
    load_parser,
)
from models.trees import Tree, from_bracketed, readable, ted, to_bracketed

AUTO = "auto"
ERROR_CHARS = 500
Row = dict[str, Any]


def resolve_parser(spec: str | None) -> str | None:
    """The parser a score job uses: ``auto`` is link-grammar when it is installed, else none (the ted
    critic is skipped); an explicit name must load (``ParserLoadError`` otherwise)."""
    if spec is None or spec.strip().lower() in ("", "none"):
        return None
    if spec == AUTO:
        try:
            import_linkgrammar()
        except ParserLoadError:
            return None
        return LINK_GRAMMAR
    if spec not in PARSERS:
        raise ParserLoadError(f"Unknown parser {spec!r}; use {', '.join(PARSERS)}, auto or none.")
    if spec == LINK_GRAMMAR:
        import_linkgrammar()  # fail now, with the one-sentence reason, rather than mid-job
    return spec


def open_parser(spec: str) -> Parser:
    """``models.parser.load_parser`` (looked up here, so tests can stand a fake parser in)."""
    return load_parser(spec)


def parse_all(engine: Engine, parser: Parser, texts: Iterable[str]) -> dict[str, StoredParse]:
    """The stored parse of every text, parsing (and storing, in one transaction) only the new ones."""
    texts = set(texts)
    with engine.connect() as conn:
        known = stored_parses(conn, parser.name, texts)
    # a tree stored before brackets in labels were escaped does not read back: parse that text again
    stale = {t for t, found in known.items() if found.tree is not None and not readable(found.tree)}
    known = {t: found for t, found in known.items() if t not in stale}
    new = {}
    for text in sorted(texts - set(known)):
        try:
            new[text] = StoredParse(to_bracketed(parser.parse(text)), None)
        except ParseError as exc:
            new[text] = StoredParse(None, str(exc)[:ERROR_CHARS])
    if new:
        with engine.begin() as conn:
            forget_parses(conn, parser.name, stale)
            store_parses(conn, parser.name, new)
    return known | new


def pair_ted(source: StoredParse, target: StoredParse) -> Row:
    """``{"ted": ...}`` for two parsed sentences, or ``{"ted_error": ...}`` naming the one rejected."""
    for side, parse in (("source", source), ("target", target)):
        if parse.tree is None:
            return {"ted_error": f"the parser rejected the {side}: {parse.error}"[:ERROR_CHARS]}
    return {"ted": float(ted(from_bracketed(source.tree), from_bracketed(target.tree)))}


def ted_scorer(engine: Engine, parser: Parser) -> Callable[[list[Row]], list[Row]]:
    """The score job's scorer: rows with ``id``, ``source`` and ``target`` -> ``ted`` or ``ted_error``."""

    def score(rows: list[Row]) -> list[Row]:
        found = parse_all(engine, parser, [r["source"] for r in rows] + [r["target"] for r in rows])
        return [{"id": r["id"], **pair_ted(found[r["source"]], found[r["target"]])} for r in rows]

    return score


def stored_tree(parse: StoredParse | None) -> Tree | None:
    """The tree of a stored parse (None when never parsed or rejected)."""
    return from_bracketed(parse.tree) if parse is not None and parse.tree is not None else None
