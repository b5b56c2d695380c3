"""Text search on the Curate and Review pages: a literal, case-insensitive substring of source or target."""

from __future__ import annotations

import pytest

from curation.frame import get_frame
from curation.recipe import Recipe
from curation.review import labelled_among, review_queue, set_label
from curation.search import like_pattern, matching_ids, search_mask
from curation.stats import page, shown_count
from db.queries import insert_pairs
from db.types import Pair

EVERYTHING = Recipe("paraphrase", {}, {}, dedup=False)


def add(engine, *texts: tuple[str, str]) -> None:
    with engine.begin() as conn:
        insert_pairs(conn, [Pair(source, target, "paraphrase") for source, target in texts])


@pytest.fixture
def texts(engine):
    add(
        engine,
        ("The Senate passed the bill.", "Lawmakers approved the bill."),
        ("Prices rose 50% in May.", "In May prices went up by half."),
        ("A storm hit the coast.", "The SENATE was closed by a storm."),
        ("Shares fell 5_0 points.", "Stocks dropped."),
    )
    return engine


def test_search_matches_source_or_target_ignoring_case(texts):
    assert matching_ids(texts, "senate").tolist() == [1, 3]
    assert matching_ids(texts, "  STORM ").tolist() == [3]
    assert matching_ids(texts, "nothing like this").tolist() == []


def test_like_wildcards_are_literal_characters(texts):
    assert matching_ids(texts, "50%").tolist() == [2]
    assert matching_ids(texts, "5_0").tolist() == [4]
    assert matching_ids(texts, "%").tolist() == [2]  # not "everything"
    assert matching_ids(texts, "'; DROP TABLE pairs; --").tolist() == []
    assert like_pattern("a\\b") == "%a\\\\b%"


def test_an_empty_search_shows_everything_and_a_long_one_is_refused(texts):
    assert search_mask(get_frame(texts), "   ") is None
    with pytest.raises(ValueError, match="at most 200"):
        search_mask(get_frame(texts), "x" * 201)


def test_curate_page_and_count_follow_the_search(texts):
    assert shown_count(texts, EVERYTHING, "kept") == 4
    assert shown_count(texts, EVERYTHING, "kept", "senate") == 2
    assert [r["id"] for r in page(texts, EVERYTHING, "kept", 0, 10, "id", search="senate")] == [1, 3]
    assert page(texts, EVERYTHING, "rejected", 0, 10, "id", search="senate") == []


def test_review_queue_follows_the_search_and_counts_its_labels(texts):
    queue = review_queue(texts, EVERYTHING, "random", n=10, seed=0, search="senate")
    assert sorted(r["id"] for r in queue) == [1, 3]
    set_label(texts, 3, "accept")
    assert labelled_among(texts, [1, 3]) == 1
    assert [r["id"] for r in review_queue(texts, EVERYTHING, "random", n=10, search="senate")] == [1]
