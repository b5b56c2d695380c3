"""Constituency trees: the bracketed text stored in the database, the top-levels template, and the tree
edit distance between two trees (the ``ted`` critic and the syntax-controlled student's TED-R).

A tree is a label and its children; a leaf's label is its word class (the parser drops the words, so two
sentences with the same shape have the same tree). Pure Python: no model, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apted import APTED, Config

#: How many levels (the root is level 1) TED-3 and the template keep, as the paper's diversity table.
TOP_LEVELS = 3


@dataclass(frozen=True)
class Tree:
    label: str
    children: tuple[Tree, ...] = ()

    def size(self) -> int:
        """Number of nodes."""
        return 1 + sum(child.size() for child in self.children)

    def depth(self) -> int:
        """Number of levels (a single node has depth 1)."""
        return 1 + max((child.depth() for child in self.children), default=0)


class TreeSyntaxError(ValueError):
    """A bracketed string that is not one well-formed tree."""


_TOKEN = re.compile(r"\(|\)|[^\s()]+")


def from_bracketed(text: str) -> Tree:
    """Read ``(S (NP n) (VP v (NP n)))``; a bare token is a leaf. Raises ``TreeSyntaxError``."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        raise TreeSyntaxError("An empty string is not a tree.")
    tree, end = _read(tokens, 0)
    if end != len(tokens):
        raise TreeSyntaxError(f"Text after the end of the tree: {' '.join(tokens[end:])[:60]!r}.")
    return tree


def _read(tokens: list[str], at: int) -> tuple[Tree, int]:
    if tokens[at] == ")":
        raise TreeSyntaxError("A ')' closes nothing.")
    if tokens[at] != "(":
        return Tree(tokens[at]), at + 1
    if at + 1 >= len(tokens) or tokens[at + 1] in "()":
        raise TreeSyntaxError("A '(' must be followed by a label.")
    label, at = tokens[at + 1], at + 2
    children = []
    while at < len(tokens) and tokens[at] != ")":
        child, at = _read(tokens, at)
        children.append(child)
    if at >= len(tokens):
        raise TreeSyntaxError(f"The tree opened with ({label} is never closed.")
    return Tree(label, tuple(children)), at + 1


#: Brackets inside a label (a parenthesis token is its own leaf label) written as the Penn Treebank does.
ESCAPES = {"(": "-LRB-", ")": "-RRB-"}


def _escaped(label: str) -> str:
    for char, name in ESCAPES.items():
        label = label.replace(char, name)
    return label


def to_bracketed(tree: Tree) -> str:
    """The one-line bracketed form ``from_bracketed`` reads back (a leaf is its bare label; brackets in a
    label are written ``-LRB-`` / ``-RRB-``)."""
    if not tree.children:
        return _escaped(tree.label)
    return f"({_escaped(tree.label)} {' '.join(to_bracketed(child) for child in tree.children)})"


def readable(text: str) -> bool:
    """Whether ``from_bracketed`` reads ``text``."""
    try:
        from_bracketed(text)
    except TreeSyntaxError:
        return False
    return True


def truncate(tree: Tree, levels: int = TOP_LEVELS) -> Tree:
    """The top ``levels`` levels of ``tree`` (the root is level 1)."""
    if levels < 1:
        raise ValueError(f"levels must be at least 1, not {levels}.")
    if levels == 1:
        return Tree(tree.label)
    return Tree(tree.label, tuple(truncate(child, levels - 1) for child in tree.children))


def template(tree: Tree, levels: int = TOP_LEVELS) -> str:
    """The linearised top levels: what the syntax-controlled student reads beside its source."""
    return to_bracketed(truncate(tree, levels))


class _LabelCost(Config):
    """Unit costs: inserting or deleting a node costs 1, relabelling costs 1 when the labels differ."""

    def rename(self, node1: Tree, node2: Tree) -> int:
        return int(node1.label != node2.label)

    def children(self, node: Tree) -> list[Tree]:
        return list(node.children)


def ted(a: Tree, b: Tree, levels: int | None = None) -> int:
    """Tree edit distance (APTED, unit costs) between ``a`` and ``b``, on their top ``levels`` levels
    (``None`` = the full trees, TED-F; ``levels=3`` is the paper's TED-3)."""
    if levels is not None:
        a, b = truncate(a, levels), truncate(b, levels)
    return int(APTED(a, b, _LabelCost()).compute_edit_distance())
