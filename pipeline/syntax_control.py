"""Syntax-controlled paraphrase (method.md): the student reads its source plus a template, the linearised
top levels of a parse, and writes a sentence of that shape.

Training: the template comes from the target's parse. Evaluation: from the reference's parse, or from
the parse of an exemplar sentence per row (``read_exemplars``: the paper's exemplar-controlled setting,
where the wanted shape is given by another sentence); TED-R is
the tree edit distance between the top levels of the output's parse and that template (lower = the
output follows the template). Every sentence is parsed once and stored (``critics.syntax.parse_all``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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


#: The JSONL fields an exemplar may sit in, in the order they are tried.
EXEMPLAR_FIELDS = ("exemplar", "text", "trg", "target")


def read_exemplars(path: str, rows: int) -> list[str]:
    """The first ``rows`` exemplar sentences of ``path``: a ``.jsonl`` file (one object per line with an
    ``exemplar``, ``text``, ``trg`` or ``target`` field) or plain text (one sentence per line), row i's
    exemplar giving row i's template. ``UserError`` when the file is missing or malformed, or holds fewer
    exemplars than the benchmark has rows (a shorter file would silently pair rows with the wrong shape)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError(
            f"Exemplar file {path} does not exist; give a .txt (one sentence per line) or .jsonl file."
        )
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise UserError(
            f"Exemplar file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})."
        ) from exc
    exemplars: list[str] = []
    for number, line in enumerate(lines, 1):
        if len(exemplars) == rows:
            break
        text = line.strip()
        if file.suffix == ".jsonl":
            if not text:
                continue
            try:
                record = json.loads(text)
                text = next(str(record[k]).strip() for k in EXEMPLAR_FIELDS if record.get(k))
            except (ValueError, TypeError, AttributeError, StopIteration) as exc:
                raise UserError(
                    f"{path}, line {number}: not a JSON object with a non-empty "
                    f"{' / '.join(EXEMPLAR_FIELDS)} field."
                ) from exc
        if not text:
            raise UserError(
                f"{path}, line {number} is empty: every benchmark row needs its exemplar sentence."
            )
        exemplars.append(text)
    if len(exemplars) < rows:
        raise UserError(
            f"Exemplar file {path} holds {len(exemplars)} exemplar(s), but the benchmark has {rows} row(s): "
            "give one exemplar per row, in the benchmark's order (or --limit the rows)."
        )
    return exemplars


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
