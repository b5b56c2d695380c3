"""Readers for evaluation benchmark files: (source, reference) rows from the formats people ship.

Formats (``--format``):
- ``mrpc``: the MSR paraphrase corpus TSV: 5 tab-separated fields (quality, id1, id2, sentence1,
  sentence2), optional UTF-8 BOM, optional header row. Only quality=1 rows are kept: sentence1 is the
  source and sentence2 the reference.
- ``jsonl``: one JSON object per line with ``src``/``trg`` (QQP as shipped by DiffuSeq) or
  ``source``/``target`` (this studio's export) or ``source``/``reference``. A missing final newline is fine.
- ``lines``: parallel line files: a folder holding ``input.txt`` and ``gold.txt`` (or the path of the input
  file with ``gold.txt`` beside it); line i of gold is the reference for line i of input.
- ``tsv``: a 2-column TSV (source, reference), optional header ``source<TAB>target``.
- ``auto``: chosen from the path (folder or ``input.txt`` -> lines, ``.jsonl``/``.json`` -> jsonl) and,
  for other files, from the field count of the first line (5 -> mrpc, 2 -> tsv).

A file in the wrong format raises ``BenchmarkFormatError`` naming the file, the line and what was expected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("auto", "mrpc", "jsonl", "lines", "tsv")
JSON_KEYS = (("src", "trg"), ("source", "target"), ("source", "reference"))


class BenchmarkFormatError(ValueError):
    """A benchmark file that does not match its format: which file, which line, what was expected."""


@dataclass(frozen=True)
class BenchmarkRow:
    source: str
    reference: str
    line: int  # 1-based line number in the source file


@dataclass(frozen=True)
class Benchmark:
    path: str
    format: str
    rows: list[BenchmarkRow]

    @property
    def name(self) -> str:
        """A short label: the file (or folder) name and its parent folder."""
        p = Path(self.path)
        return f"{p.parent.name}/{p.name}" if p.parent.name else p.name

    @property
    def sources(self) -> list[str]:
        return [r.source for r in self.rows]

    @property
    def references(self) -> list[str]:
        return [r.reference for r in self.rows]


def _error(path: Path, line: int, message: str, fmt: str) -> BenchmarkFormatError:
    return BenchmarkFormatError(
        f"{path}, line {line}: {message} — is this really a {fmt} file? Pick the right --format "
        f"({', '.join(f for f in FORMATS if f != 'auto')})."
    )


def _text_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise BenchmarkFormatError(f"{path} is not UTF-8 text ({exc.reason}).") from exc


def read_mrpc(path: Path) -> list[BenchmarkRow]:
    rows = []
    for number, line in enumerate(_text_lines(path), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 5:
            raise _error(path, number, f"expected 5 tab-separated fields, found {len(fields)}", "mrpc")
        quality = fields[0].strip()
        if number == 1 and quality.lower() == "quality":
            continue  # the original release's header row
        if quality not in ("0", "1"):
            raise _error(path, number, f"quality must be 0 or 1, found {quality[:20]!r}", "mrpc")
        if quality == "1":
            rows.append(BenchmarkRow(fields[3].strip(), fields[4].strip(), number))
    return rows


def read_jsonl(path: Path) -> list[BenchmarkRow]:
    rows = []
    for number, line in enumerate(_text_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _error(path, number, f"not valid JSON ({exc.msg})", "jsonl") from exc
        if not isinstance(record, dict):
            raise _error(path, number, "expected a JSON object", "jsonl")
        keys = next((k for k in JSON_KEYS if k[0] in record and k[1] in record), None)
        if keys is None:
            wanted = " or ".join(f'"{a}"/"{b}"' for a, b in JSON_KEYS)
            raise _error(path, number, f"expected keys {wanted}, found {sorted(record)[:6]}", "jsonl")
        source, reference = record[keys[0]], record[keys[1]]
        if not isinstance(source, str) or not isinstance(reference, str):
            raise _error(path, number, f'"{keys[0]}" and "{keys[1]}" must be strings', "jsonl")
        rows.append(BenchmarkRow(source.strip(), reference.strip(), number))
    return rows


def line_files(path: Path) -> tuple[Path, Path]:
    """The (input, gold) files for a folder or an input file with ``gold.txt`` beside it."""
    folder, source = (path, path / "input.txt") if path.is_dir() else (path.parent, path)
    gold = folder / "gold.txt"
    for needed in (source, gold):
        if not needed.is_file():
            raise BenchmarkFormatError(
                f"Parallel line files need {needed.name} in {folder} (input.txt = sources, gold.txt = "
                "references); it is missing."
            )
    return source, gold


def read_lines(path: Path) -> list[BenchmarkRow]:
    source_file, gold_file = line_files(path)
    sources, golds = _text_lines(source_file), _text_lines(gold_file)
    if len(sources) != len(golds):
        raise BenchmarkFormatError(
            f"{source_file} has {len(sources)} lines but {gold_file} has {len(golds)}; "
            "parallel line files must have one reference line per input line."
        )
    rows = []
    for number, (source, gold) in enumerate(zip(sources, golds, strict=True), start=1):
        if "\t" in source or source.lstrip().startswith("{"):
            raise _error(source_file, number, "found a tab or a JSON object, not one plain sentence", "lines")
        if source.strip() and gold.strip():
            rows.append(BenchmarkRow(source.strip(), gold.strip(), number))
    return rows


def read_tsv(path: Path) -> list[BenchmarkRow]:
    rows = []
    for number, line in enumerate(_text_lines(path), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise _error(path, number, f"expected 2 tab-separated fields, found {len(fields)}", "tsv")
        if number == 1 and fields[0].strip().lower() == "source":
            continue
        rows.append(BenchmarkRow(fields[0].strip(), fields[1].strip(), number))
    return rows


READERS = {"mrpc": read_mrpc, "jsonl": read_jsonl, "lines": read_lines, "tsv": read_tsv}


def detect_format(path: Path) -> str:
    """Guess the format of ``path`` (see the module docstring for the rules)."""
    if path.is_dir() or path.name == "input.txt":
        return "lines"
    if path.suffix in (".jsonl", ".json"):
        return "jsonl"
    first = next((line for line in _text_lines(path) if line.strip()), "")
    if first.lstrip().startswith("{"):
        return "jsonl"
    fields = first.count("\t") + 1
    if fields == 5:
        return "mrpc"
    if fields == 2:
        return "tsv"
    raise BenchmarkFormatError(
        f"Cannot tell the format of {path}: its first line has {fields} tab-separated field(s). "
        "Pass --format mrpc, jsonl, lines or tsv."
    )


def read_benchmark(path: str | Path, fmt: str = "auto", limit: int | None = None) -> Benchmark:
    """Read (source, reference) rows from ``path``; ``limit`` keeps the first N rows."""
    path = Path(path).expanduser()
    if fmt not in FORMATS:
        raise BenchmarkFormatError(f"Unknown benchmark format {fmt!r}; use one of {', '.join(FORMATS)}.")
    if not path.exists():
        raise BenchmarkFormatError(f"Benchmark file {path} does not exist.")
    if limit is not None and limit < 1:
        raise BenchmarkFormatError(f"--limit must be a positive number of rows, not {limit}.")
    resolved = detect_format(path) if fmt == "auto" else fmt
    if resolved != "lines" and path.is_dir():
        raise BenchmarkFormatError(f"{path} is a folder; format {resolved} needs a file.")
    rows = READERS[resolved](path)
    if not rows:
        raise BenchmarkFormatError(f"{path} holds no usable (source, reference) rows as {resolved}.")
    return Benchmark(str(path), resolved, rows[:limit] if limit else rows)
