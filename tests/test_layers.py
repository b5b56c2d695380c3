"""The packages import one way (README, Architecture): no package imports one above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Each package and the packages it may import (besides itself), bottom first.
ALLOWED: dict[str, set[str]] = {
    "models": set(),
    "db": set(),
    "curation": {"models", "db"},
    "pipeline": {"models", "db", "curation"},
    "cli": {"models", "db", "curation", "pipeline"},
    "ui": {"models", "db", "curation", "pipeline", "cli"},
}


def imported_packages(path: Path) -> set[str]:
    """The project packages a module imports anywhere in it (inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & {*ALLOWED, "app"}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_package_imports_one_above_it(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[package] - {package})
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {name: packages for name, packages in wrong.items() if packages} == {}
