"""Trees: the bracketed form, the top-levels template, and tree edit distance on hand-computed cases."""

import pytest

from models.trees import Tree, TreeSyntaxError, from_bracketed, ted, template, to_bracketed, truncate

SMALL = "(S (NP w n) (VP v (NP n)) .)"


def test_bracketed_round_trip():
    tree = from_bracketed(SMALL)
    assert tree.label == "S" and [c.label for c in tree.children] == ["NP", "VP", "."]
    assert to_bracketed(tree) == SMALL
    assert tree.size() == 9 and tree.depth() == 4


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty"), ("(S (NP n)", "never closed"), ("(S n) x", "after the end"), ("( (NP n))", "label")],
)
def test_malformed_brackets_are_refused(text, problem):
    with pytest.raises(TreeSyntaxError, match=problem):
        from_bracketed(text)


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        (SMALL, SMALL, 0),
        ("(S (NP n) (VP v))", "(S (NP w) (VP v))", 1),  # relabel one leaf
        ("(S (NP n) (VP v))", "(S (NP n) (VP v (NP n)))", 2),  # insert NP and its leaf
        ("(S (NP w n) (VP v))", "(S w n (VP v))", 1),  # delete NP, its leaves move up
        ("(S (NP n) (VP v))", "(S (VP v) (NP n))", 4),  # a swap: ordered trees relabel all four nodes
        ("(S n)", "(SQ v w)", 3),  # relabel root and leaf, insert one leaf
    ],
)
def test_ted_against_hand_computed_distances(a, b, distance):
    assert ted(from_bracketed(a), from_bracketed(b)) == distance
    assert ted(from_bracketed(b), from_bracketed(a)) == distance  # unit costs: symmetric


def test_ted_on_the_top_levels_ignores_what_lies_below():
    a = from_bracketed("(S (NP w n) (VP v (NP w a n) (PP r (NP n))) .)")
    b = from_bracketed("(S (NP n) (VP v (SBAR w (S (NP n) (VP v)))) .)")
    assert ted(a, b, levels=2) == 0  # S over NP, VP, . in both
    # level 3: a's NP has [w, n], b's [n]: delete w (1); a's VP has [v, NP, PP], b's [v, SBAR]: relabel
    # NP -> SBAR and delete PP (2)
    assert ted(a, b, levels=3) == 3
    assert ted(a, b) > ted(a, b, levels=3)


def test_truncate_and_template():
    tree = from_bracketed("(S (NP w n) (VP v (NP w n)) .)")
    assert truncate(tree, 1) == Tree("S")
    assert template(tree, 2) == "(S NP VP .)"
    assert template(tree) == "(S (NP w n) (VP v NP) .)"  # three levels: the root is level 1
    with pytest.raises(ValueError, match="at least 1"):
        truncate(tree, 0)


def test_a_bracket_label_round_trips_escaped_as_the_penn_treebank_writes_it():
    tree = Tree("S", (Tree("NP", (Tree("("), Tree("n"), Tree(")"))), Tree("):")))
    text = to_bracketed(tree)
    assert text == "(S (NP -LRB- n -RRB-) -RRB-:)"
    assert to_bracketed(from_bracketed(text)) == text
