"""The parser role: a constituency tree per sentence. The default is link-grammar (Debian's
``python3-link-grammar``, 5.12, with its English dictionary); any other parser fits behind ``Parser``.

Debian installs the ``linkgrammar`` module for Debian's own Python. A virtual environment made from another
Python 3.11 does not see Debian's ``dist-packages``, and adding that whole folder to the venv's path would
shadow the venv's own packages with Debian's; ``import_linkgrammar`` therefore loads just that one package
from Debian's folder when a plain import fails.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Protocol

from models.trees import Tree, TreeSyntaxError

LINK_GRAMMAR = "link-grammar"
PARSERS = (LINK_GRAMMAR,)
DEBIAN_DIST_PACKAGES = Path("/usr/lib/python3/dist-packages")
INSTALL_HINT = "install Debian's python3-link-grammar (apt-get install python3-link-grammar)"


class ParserLoadError(RuntimeError):
    """A parser that cannot be loaded: which one, why, and what to do."""


class ParseError(ValueError):
    """The parser rejected one sentence; the message says why (it is stored with the sentence)."""


class Parser(Protocol):
    #: recorded with every stored parse, so parses from two parsers never mix
    name: str

    def parse(self, text: str) -> Tree:
        """The sentence's constituency tree, its leaves word classes; ``ParseError`` when it has none."""
        ...


def import_linkgrammar(dist_packages: Path = DEBIAN_DIST_PACKAGES) -> ModuleType:
    """The ``linkgrammar`` module: the normal import, else Debian's copy alone; ``ParserLoadError`` when
    neither exists or the compiled extension does not load under this Python."""
    try:
        return importlib.import_module("linkgrammar")
    except ImportError:
        pass
    package = dist_packages / "linkgrammar"
    if not (package / "__init__.py").exists():
        raise ParserLoadError(
            f"Cannot load parser '{LINK_GRAMMAR}': the linkgrammar module is missing; {INSTALL_HINT}."
        )
    spec = importlib.util.spec_from_file_location(
        "linkgrammar", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["linkgrammar"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        for name in [n for n in sys.modules if n == "linkgrammar" or n.startswith("linkgrammar.")]:
            del sys.modules[name]
        raise ParserLoadError(
            f"Cannot load parser '{LINK_GRAMMAR}' from {package} under Python "
            f"{sys.version.split()[0]} ({type(exc).__name__}: {exc}); {INSTALL_HINT} for a Python 3.11 venv."
        ) from exc
    return module


# ---- link-grammar's flat constituent output -> Tree -----------------------------------------------

_OPEN = re.compile(r"^\[([A-Z]+)$")
_CLOSE = re.compile(r"^([A-Z]+)\]$")
_SUBSCRIPT = re.compile(r"\.([a-z])[a-z-]*$")


def leaf_label(word: str) -> str:
    """A word's class: link-grammar's subscript (``said.v-d`` -> ``v``, ``company.s`` -> ``s``), the
    token itself for punctuation, ``w`` for a word without a subscript (``the``, ``of``)."""
    word = re.sub(r"\{[^}]*\}$|\[[^\]]*\]$", "", word)  # guessed-word marks: 3.5{!<NUMBERS>}
    found = _SUBSCRIPT.search(word)
    if found:
        return found.group(1)
    if word and not any(ch.isalnum() for ch in word):
        return word
    return "w"


def from_constituents(flat: str) -> Tree:
    """Read link-grammar's ``constituent_tree(2)`` text (``[S [NP the cat.n NP] ... S]``); words it
    skipped (``{--}``) are left out. Raises ``TreeSyntaxError``."""
    stack: list[tuple[str, list[Tree]]] = []
    root: Tree | None = None
    for token in flat.split():
        if root is not None:
            raise TreeSyntaxError(f"Text after the end of the tree: {token!r}.")
        if opened := _OPEN.match(token):
            stack.append((opened.group(1), []))
        elif closed := _CLOSE.match(token):
            if not stack or stack[-1][0] != closed.group(1):
                raise TreeSyntaxError(f"{token!r} closes a phrase that is not open.")
            label, children = stack.pop()
            node = Tree(label, tuple(children))
            if stack:
                stack[-1][1].append(node)
            else:
                root = node
        elif not (token.startswith("{") and token.endswith("}")):
            if not stack:
                raise TreeSyntaxError(f"The word {token!r} lies outside every phrase.")
            stack[-1][1].append(Tree(leaf_label(token)))
    if root is None:
        raise TreeSyntaxError("The constituent tree is empty or never closed.")
    return root


class LinkGrammarParser:
    """Link-grammar with its English dictionary. A sentence needs a linkage skipping at most
    ``max_skipped`` words, found within ``max_seconds``; otherwise it is rejected."""

    name = LINK_GRAMMAR

    def __init__(self, max_skipped: int = 3, max_seconds: int = 10) -> None:
        self._lg = import_linkgrammar()
        self._options = self._lg.ParseOptions(
            verbosity=0, max_null_count=max_skipped, max_parse_time=max_seconds
        )
        self.max_skipped = max_skipped
        self.max_seconds = max_seconds
        self._lock = threading.Lock()  # the C library's dictionary is shared by every sentence
        try:
            self._dictionary = self._lg.Dictionary("en")
        except Exception as exc:
            raise ParserLoadError(
                f"Cannot load parser '{LINK_GRAMMAR}': its English dictionary did not load ({exc}); "
                f"reinstall python3-link-grammar and link-grammar-dictionaries-all."
            ) from exc

    def parse(self, text: str) -> Tree:
        text = " ".join(text.split())
        if not any(ch.isalnum() for ch in text):
            # link-grammar aborts the whole process on an empty word, so such text never reaches it
            raise ParseError("nothing to parse: the sentence has no letters or digits")
        with self._lock:
            try:
                linkages = self._lg.Sentence(text, self._dictionary, self._options).parse()
                linkage = next(iter(linkages), None)
                flat = linkage.constituent_tree(2) if linkage is not None else None
            except self._lg.LG_TimerExhausted:  # a hard sentence rejects itself, not the whole job
                raise ParseError(f"link-grammar found no parse within {self.max_seconds} s") from None
            except self._lg.LG_Error as exc:
                raise ParseError(f"link-grammar could not parse it ({type(exc).__name__}: {exc})") from None
        if flat is None:
            raise ParseError(f"link-grammar found no parse that skips at most {self.max_skipped} words")
        try:
            return from_constituents(flat)
        except TreeSyntaxError as exc:
            raise ParseError(f"link-grammar's constituent tree could not be read: {exc}") from exc


def load_parser(spec: str = LINK_GRAMMAR) -> Parser:
    """The parser named ``spec``; ``ParserLoadError`` (one sentence) when it is unknown or missing."""
    if spec == LINK_GRAMMAR:
        return LinkGrammarParser()
    raise ParserLoadError(
        f"Unknown parser {spec!r}; use {', '.join(PARSERS)} (or none to skip the ted critic)."
    )
