"""Syntax-controlled paraphrase (method.md): the student reads its source plus a template, the linearised
top levels of a parse, and writes a sentence of that shape.

Training: the template comes from the target's parse. Evaluation: from the reference's parse; TED-R is
the tree edit distance between the top levels of the output's parse and that template (lower = the
output follows the template). Every sentence is parsed once and stored (``critics.syntax.parse_all``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from models.parser import Parser, ParserLoadError
from models.trees import TOP_LEVELS, from_bracketed, ted, template, truncate
from pipeline.critics import syntax
from pipeline.runner import UserError

#: What joins a source and its template in the student's input.
SEPARATOR = " <syntax> "


def controlled_source(source: str, tree_template: str) -> str:
    """The syntax-controlled student's input: ``source <syntax> (S (NP w n) (VP v NP) .)``."""
    return f"{source}{SEPARATOR}{tree_template}"


def open_parser() -> Parser:
    """The default parser, or ``UserError`` naming the package to install."""
    try:
        return syntax.open_parser(syntax.resolve_parser(syntax.LINK_GRAMMAR))
    except ParserLoadError as exc:
        raise UserError(f"Syntax-controlled mode needs a parser. {exc}") from exc


def templates_for(engine: Engine, parser: Parser, texts: list[str]) -> list[str | None]:
    """The top-levels template of each text's parse (None where the parser rejected it)."""
    found = syntax.parse_all(engine, parser, texts)
    return [template(from_bracketed(found[t].tree), TOP_LEVELS) if found[t].tree else None for t in texts]


def templated_pairs(
    engine: Engine, parser: Parser, pairs: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], int]:
    """Training pairs ``(source <syntax> target-template, target)``, and how many were dropped because
    the parser rejected their target."""
    templates = templates_for(engine, parser, [target for _, target in pairs])
    kept = [(controlled_source(s, t), y) for (s, y), t in zip(pairs, templates, strict=True) if t is not None]
    return kept, len(pairs) - len(kept)


@dataclass(frozen=True)
class TedR:
    mean: float | None  # over the rows where both the output and the template exist
    rows: list[float | None]


def ted_r(engine: Engine, parser: Parser, outputs: list[str], templates: list[str | None]) -> TedR:
    """Tree distance between the top levels of each output's parse and its template."""
    found = syntax.parse_all(engine, parser, outputs)
    rows: list[float | None] = []
    for output, wanted in zip(outputs, templates, strict=True):
        tree = found[output].tree
        if tree is None or wanted is None:
            rows.append(None)
        else:
            rows.append(float(ted(truncate(from_bracketed(tree), TOP_LEVELS), from_bracketed(wanted))))
    present = [r for r in rows if r is not None]
    return TedR(sum(present) / len(present) if present else None, rows)
