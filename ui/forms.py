"""Turn what a user typed into clean values, or one sentence saying what is wrong. No gradio here.

The studio's handlers call these and show a ``FormError``'s message in the UI; values may arrive as
numbers, numeric strings or junk (``"abc"`` through the API), so every check starts from ``Any``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from models.availability import ModelUnavailable, check_model


class FormError(ValueError):
    """A field the user can fix: its message names the field, the bad value and what is allowed."""


def as_float(value: Any, name: str, *, low: float | None = None, high: float | None = None) -> float:
    """``value`` as a finite float within [low, high]."""
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise FormError(f"{name} must be a number, not {value!r}.") from None
    if math.isnan(number) or math.isinf(number):
        raise FormError(f"{name} must be a finite number, not {value!r}.")
    if low is not None and number < low or high is not None and number > high:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise FormError(f"{name} = {number:g} is out of range: use a value between {lo} and {hi}.")
    return number


def as_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as a whole number within [low, high] (``3.0`` is fine, ``3.5`` is not)."""
    number = as_float(value, name, low=low, high=high)
    if number != int(number):
        raise FormError(f"{name} must be a whole number, not {value!r}.")
    return int(number)


def unset(value: Any) -> bool:
    """True for a field left at "use the default": empty, None, or the 0 an empty number box may send."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return float(value) == 0
    except (TypeError, ValueError):
        return False


def optional_int(value: Any, name: str, *, low: int | None = None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return as_int(value, name, low=low)


def choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise FormError(f"{name} must be one of {', '.join(allowed)}, not {value!r}.")
    return str(value)


def confined_path(value: Any, roots: list[Path], what: str) -> Path:
    """A path typed into the studio, resolved, that must lie inside one of ``roots`` (the folders the
    studio may read; a relative path is taken from the first). Nothing is said about whether a path
    outside exists."""
    raw = Path(str(value or "").strip()).expanduser()
    resolved = (raw if raw.is_absolute() else roots[0] / raw).resolve()
    if not any(resolved.is_relative_to(Path(root).resolve()) for root in roots):
        folders = ", ".join(str(root) for root in roots)
        raise FormError(
            f"The studio reads {what} only from {folders}; {str(value)!r} is outside them. Put it there "
            "(or start the studio with --data-dir FOLDER), or use the impossible CLI, which reads any path."
        )
    return resolved


def model_spec(value: Any, role: str, *, allow_empty: bool = False, roots: list[Path] | None = None) -> str:
    """A model id, a local path or ``embedded``; a local-looking path must exist.

    With ``roots`` (the studio's data and model-cache folders) a local path must lie inside one of them
    and comes back absolute. A hub id must be in the local Hugging Face cache unless the hub is
    reachable (``models.availability``), so an offline studio refuses it before queueing anything.
    """
    spec = str(value or "").strip()
    if not spec:
        if allow_empty:
            return ""
        raise FormError(
            f"Give a {role} model: 'embedded', a Hugging Face id, or a local folder / .gguf file."
        )
    if spec == "embedded":
        return spec
    path = Path(spec).expanduser()
    looks_local = (
        spec.startswith((".", "/", "~"))
        or spec.endswith(".gguf")
        or spec.count("/") > 1
        or os.sep != "/"
        and os.sep in spec
    )
    if looks_local and roots is not None:
        path = confined_path(spec, roots, f"{role} models")
    if looks_local and not path.exists():
        raise FormError(f"The {role} model {spec!r} does not exist on the server: no such file or folder.")
    if looks_local and roots is not None:
        return str(path)
    try:
        check_model(role.lower(), spec)
    except ModelUnavailable as exc:
        raise FormError(str(exc)) from None
    return spec


def file_inside(value: Any, folder: Path, name: str) -> str:
    """A path that must name an existing file inside ``folder`` (uploads land there)."""
    path = Path(str(value or "").strip()).expanduser()
    if not str(value or "").strip():
        raise FormError(f"Upload a {name} file first.")
    resolved = path.resolve()
    if not resolved.is_relative_to(Path(folder).resolve()):
        raise FormError(f"The {name} must be a file uploaded through the studio, not {str(value)!r}.")
    if not resolved.is_file():
        raise FormError(f"The {name} file {str(value)!r} no longer exists; upload it again.")
    return str(resolved)


def lines(text: Any) -> list[str]:
    """Non-empty stripped lines of a text box."""
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]
