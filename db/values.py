"""What every backend can store: strict JSON and text without NUL bytes, lone surrogates or huge numbers.

SQLite accepts a NUL byte inside text or a bare ``NaN`` inside a JSON column; PostgreSQL refuses both with
a ``DataError`` in the middle of a transaction. Checking values here, before anything is written, lets
every entry point (an imported file, job parameters, a corpus) say which value is wrong instead.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: Deepest nesting of lists / objects accepted from a file (Python's parser would hit its recursion limit).
MAX_DEPTH = 64
#: Longest integer literal accepted from a file (a 64-bit integer has at most 19 digits).
MAX_INT_DIGITS = 19
INT64 = (-(2**63), 2**63 - 1)
#: PostgreSQL's ``INTEGER`` (SQLite's is 64-bit, but the schema must hold on both).
INT32 = (-(2**31), 2**31 - 1)


class StrictJSONError(ValueError):
    """A JSON text that is not strict, portable JSON (the message says what and where)."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise StrictJSONError(
            f"a {len(text.lstrip('-'))}-digit number is too long (at most {MAX_INT_DIGITS})"
        )
    return int(text)


def _float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise StrictJSONError(f"number {text[:20]} is out of range")
    return number


def _constant(name: str) -> float:
    raise StrictJSONError(f"{name} is not a JSON value (strict JSON has no NaN or Infinity)")


def loads_strict(text: str) -> Any:
    """Parse one JSON text, refusing NaN / Infinity, overlong numbers and over-deep nesting.

    Raises ``StrictJSONError`` with a short reason (no line number: the caller knows the line).
    """
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise StrictJSONError(f"invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise StrictJSONError(f"nested deeper than {MAX_DEPTH} levels") from None
    problem = storable_problem(value)
    if problem:
        raise StrictJSONError(problem)
    return value


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as text on every backend, or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (not valid Unicode)"
    return None


def storable_problem(value: Any, where: str = "", depth: int = 0) -> str | None:
    """Why ``value`` (a parsed JSON value) cannot be stored as strict JSON on every backend, or None.

    ``where`` names the place in messages (e.g. ``provenance.seed``).
    """
    at = f" in {where}" if where else ""
    if depth > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels{at}"
    if isinstance(value, str):
        problem = text_problem(value)
        return f"text{at} {problem}" if problem else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if INT64[0] <= value <= INT64[1] else f"number{at} is out of the 64-bit range"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value}{at} is not a JSON number (use a finite number)"
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            problem = storable_problem(item, f"{where}[{index}]", depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"key {key!r}{at} is not a string"
            problem = text_problem(key)
            if problem:
                return f"key{at} {problem}"
            problem = storable_problem(item, f"{where}.{key}" if where else key, depth + 1)
            if problem:
                return problem
        return None
    return f"{type(value).__name__}{at} is not a JSON value"


def dumps_strict(value: Any) -> str:
    """``json.dumps`` that refuses NaN / Infinity (every JSON column is written through this)."""
    return json.dumps(value, allow_nan=False)
