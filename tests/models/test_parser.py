"""The parser role: link-grammar's constituent output read into trees, real parses (skipped when
link-grammar is missing), a sentence it rejects, and the one-sentence error when it is not installed."""

import pytest

from models import parser as parser_module
from models.parser import ParseError, ParserLoadError, from_constituents, leaf_label, load_parser
from models.trees import TreeSyntaxError, template, to_bracketed


def has_linkgrammar() -> bool:
    try:
        parser_module.import_linkgrammar()
    except ParserLoadError:
        return False
    return True


needs_lg = pytest.mark.skipif(
    not has_linkgrammar(), reason="link-grammar missing (apt-get install python3-link-grammar)"
)


@pytest.fixture(scope="module")
def lg():
    return load_parser("link-grammar")


@pytest.mark.parametrize(
    ("word", "label"),
    [
        ("said.v-d", "v"),
        ("company.s", "s"),
        ("the", "w"),
        (",", ","),
        ("3.5{!<NUMBERS>}", "w"),
        ("Mr..x", "x"),
    ],
)
def test_leaf_label_is_the_word_class(word, label):
    assert leaf_label(word) == label


def test_constituent_text_becomes_a_tree_without_skipped_words():
    flat = "[S [NP the cat.n NP] {--} [VP sat.v-d [PP on [NP the mat.n NP] PP] VP] . S]"
    assert to_bracketed(from_constituents(flat)) == "(S (NP w n) (VP v (PP w (NP w n))) .)"
    with pytest.raises(TreeSyntaxError, match="not open"):
        from_constituents("[S the cat.n NP]")


def test_missing_linkgrammar_is_one_sentence_naming_the_package(monkeypatch, tmp_path):
    def no_module(name):
        raise ImportError(name)

    monkeypatch.setattr(parser_module.importlib, "import_module", no_module)
    with pytest.raises(ParserLoadError) as caught:
        parser_module.import_linkgrammar(dist_packages=tmp_path)
    message = str(caught.value)
    assert "python3-link-grammar" in message and "\n" not in message


def test_unknown_parser_is_refused():
    with pytest.raises(ParserLoadError, match="Unknown parser 'stanza'"):
        load_parser("stanza")


@needs_lg
@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The cat sat on the mat.", "(S (NP w n) (VP v (PP w (NP w n))) .)"),
        ("Revenue rose 5 percent in the third quarter.", "(S (NP n) (VP v (NP w u) (PP r (NP w a n))) .)"),
    ],
)
def test_real_parses(lg, sentence, expected):
    assert to_bracketed(lg.parse(sentence)) == expected


@needs_lg
def test_real_parse_of_news_sentences_has_a_template(lg):
    for sentence in (
        "The company said in a statement that profits fell 3.5% to $1,000.",
        "Storms flooded the coastal town on Monday, forcing hundreds of families to leave.",
        "CAIRO, Egypt (AP) -- The president met the delegation on Sunday.",  # a dateline: skipped words
    ):
        tree = lg.parse(sentence)
        assert tree.label == "S" and tree.size() > 8
        assert template(tree).startswith("(S ")


@needs_lg
@pytest.mark.parametrize(
    ("sentence", "why"),
    [("the the the the of of of", "no parse"), ("", "nothing to parse"), (" -- ... ", "nothing to parse")],
)
def test_a_sentence_the_parser_rejects(lg, sentence, why):
    with pytest.raises(ParseError, match=why):
        lg.parse(sentence)


@needs_lg
def test_a_sentence_that_runs_out_of_parse_time_is_rejected_not_raised(lg, monkeypatch):
    """QQP has questions link-grammar cannot parse in its time limit; the library raises
    LG_TimerExhausted, which must reject that sentence only (an evaluation job died on it)."""

    class TimesOut:
        def __init__(self, *args):
            pass

        def parse(self):
            raise lg._lg.LG_TimerExhausted()

    monkeypatch.setattr(lg._lg, "Sentence", TimesOut)
    with pytest.raises(ParseError, match="no parse within 10 s"):
        lg.parse("Why does this question take so long to parse?")
