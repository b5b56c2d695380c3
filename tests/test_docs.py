"""The README documents every CLI command and flag, every score column and every studio flag."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from cli import build_parser
from db.schema import SCORE_COLUMNS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix}{name}"
                found[full] = sub
                found.update(_subcommands(sub, prefix=f"{full} "))
    return found


def test_every_cli_command_is_in_the_readme():
    missing = [name for name in _subcommands(build_parser()) if f"impossible {name}" not in README]
    assert not missing, f"README lacks: {missing}"


def test_every_cli_flag_of_the_core_commands_is_in_the_readme():
    commands = _subcommands(build_parser())
    missing = []
    for name in ("generate", "score", "train", "evaluate", "export", "stats", "version save"):
        for action in commands[name]._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag not in ("--help", "--db") and flag not in README:
                    missing.append(f"{name} {flag}")
    assert not missing, f"README lacks: {missing}"


def test_every_score_column_is_in_the_readme():
    assert [c for c in SCORE_COLUMNS if f"`{c}`" not in README] == []


def test_every_studio_flag_is_in_the_readme():
    app_source = (Path(__file__).resolve().parents[1] / "app.py").read_text()
    flags = set(re.findall(r'add_argument\(\s*"(--[a-z-]+)"', app_source))
    assert flags, "app.py defines no flags?"
    assert sorted(f for f in flags if f"`{f}" not in README) == []


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_screenshots_in_the_readme_exist():
    root = Path(__file__).resolve().parents[1]
    images = re.findall(r"\]\((docs/screenshots/[^)]+)\)", README)
    assert images and all((root / image).exists() for image in images)
