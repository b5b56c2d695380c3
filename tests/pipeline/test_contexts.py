"""Contexts: news domain prefixes, sentence-prefix contexts, teacher sampling and user corpora."""

from __future__ import annotations

import json
import random

import pytest

from models.teacher import load_teacher
from pipeline.contexts import contexts_from_text, domain_prefix, read_corpus, sample_contexts
from pipeline.runner import UserError
from tests.pipeline.scripted_teacher import build_scripted_teacher

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_domain_prefix_forms_follow_the_papers_odds():
    rng = random.Random(0)
    prefixes = [domain_prefix(rng) for _ in range(4000)]
    media_only = sum(p.startswith("(") for p in prefixes) / len(prefixes)
    with_city = sum("," in p for p in prefixes) / len(prefixes)
    assert all(p.endswith(") --") for p in prefixes)
    assert abs(media_only - 0.5) < 0.03
    assert abs(with_city - 0.25) < 0.03
    city, country = prefixes[next(i for i, p in enumerate(prefixes) if "," in p)].split(" (")[0].split(", ")
    assert city.isupper() and not country.isupper()


def test_each_prefix_of_one_to_five_sentences_is_a_context():
    text = "(AP) -- One a. Two b. Three c. Four d. Five e. Six f. Unfinished"
    contexts = contexts_from_text(text, "(AP) --")
    assert [c.text for c in contexts] == [
        "(AP) -- One a.",
        "(AP) -- One a. Two b.",
        "(AP) -- One a. Two b. Three c.",
        "(AP) -- One a. Two b. Three c. Four d.",
        "(AP) -- One a. Two b. Three c. Four d. Five e.",
    ]
    assert all(c.origin == "teacher" and c.prefix == "(AP) --" for c in contexts)


def test_sample_contexts_from_a_teacher_is_deterministic(tmp_path):
    teacher = load_teacher(str(build_scripted_teacher(tmp_path / "scripted")), "cpu")
    contexts = sample_contexts(teacher, 7, seed=1, max_new_tokens=40)
    assert len(contexts) == 7
    for c in contexts:
        assert c.text.startswith(c.prefix + " The ") and c.text.endswith(".")
        assert "\n" not in c.text
    again = sample_contexts(teacher, 7, seed=1, max_new_tokens=40)
    assert [c.text for c in again] == [c.text for c in contexts]


def test_a_teacher_that_never_ends_a_sentence_gives_a_clear_error(tiny_teacher):
    teacher = load_teacher(str(tiny_teacher), "cpu")
    with pytest.raises(UserError, match="no complete sentence"):
        sample_contexts(teacher, 1, max_new_tokens=3, batch=2)


def test_text_corpus_one_per_line(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("First text here.\nSecond   text\there.\n\n   \n")
    assert [c.text for c in read_corpus(path)] == ["First text here.", "Second text here."]
    assert {c.origin for c in read_corpus(path)} == {"corpus"}


def test_text_corpus_paragraphs(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("Para one,\nline two.\n\nPara two.\n")
    assert [c.text for c in read_corpus(path)] == ["Para one, line two.", "Para two."]


def test_jsonl_corpus_reads_text_or_context(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(
        json.dumps({"text": "A one."}) + "\n\n" + json.dumps({"context": "B two.", "x": 1}) + "\n"
    )
    assert [c.text for c in read_corpus(path)] == ["A one.", "B two."]


def test_malformed_jsonl_names_the_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"text": "fine."}\n{"text": broken\n')
    with pytest.raises(UserError, match=r"line 2: invalid JSON"):
        read_corpus(path)
    path.write_text('{"text": "fine."}\n{"body": "no text field"}\n')
    with pytest.raises(UserError, match=r'line 2: expected an object with a "text" or "context"'):
        read_corpus(path)


def test_empty_or_missing_corpus_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(UserError, match="holds no text"):
        read_corpus(empty)
    with pytest.raises(UserError, match="does not exist"):
        read_corpus(tmp_path / "missing.jsonl")
