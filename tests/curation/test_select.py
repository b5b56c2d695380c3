"""The authoritative SQL selection: thresholds, dedup, human labels, default recipe, PostgreSQL SQL."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from curation.frame import get_frame
from curation.recipe import Recipe
from curation.review import set_label
from curation.select import (
    count_selected,
    default_recipe,
    has_nli_scores,
    selected_ids,
    selection_query,
    semantic_critic,
)
from tests.curation.helpers import add_scored, set_scores

NLI = Recipe.default("paraphrase", "nli")


def test_a_good_pair_is_selected_and_a_bad_one_is_not(engine):
    good = add_scored(engine)
    bad = add_scored(engine, rouge_l=0.9)
    assert selected_ids(engine, NLI).tolist() == [good]
    assert count_selected(engine, NLI) == 1
    assert bad not in selected_ids(engine, NLI)


def test_missing_score_fails_its_check(engine):
    add_scored(engine, nli_backward=None)
    assert selected_ids(engine, NLI).tolist() == []


def test_threshold_is_inclusive(engine):
    at_cut = add_scored(engine, nli_forward=0.75, rouge_l=0.75)
    assert selected_ids(engine, NLI).tolist() == [at_cut]


def test_other_task_is_never_selected(engine):
    add_scored(engine, task="summary", length_ratio=0.5)
    assert selected_ids(engine, NLI).tolist() == []


def test_dedup_keeps_best_pair_per_group_and_lowest_id_on_tie(engine):
    weak = add_scored(engine, dedup_group=7, nli_forward=0.8, nli_backward=0.8)
    best = add_scored(engine, dedup_group=7, nli_forward=0.95, nli_backward=0.9)
    tie_a = add_scored(engine, dedup_group=9)
    tie_b = add_scored(engine, dedup_group=9)
    alone_a, alone_b = add_scored(engine), add_scored(engine)  # NULL group: each its own group
    assert selected_ids(engine, NLI).tolist() == sorted([best, tie_a, alone_a, alone_b])
    assert weak not in selected_ids(engine, NLI) and tie_b not in selected_ids(engine, NLI)
    no_dedup = Recipe(NLI.task, NLI.min, NLI.max, dedup=False)
    assert len(selected_ids(engine, no_dedup)) == 6


def test_dedup_ranks_by_embedding_when_recipe_is_embedding_based(engine):
    recipe = Recipe.default("paraphrase", "embedding")
    high_nli = add_scored(engine, dedup_group=1, embed_cosine=0.85, nli_forward=0.99, nli_backward=0.99)
    high_cos = add_scored(engine, dedup_group=1, embed_cosine=0.95, nli_forward=0.1, nli_backward=0.1)
    assert selected_ids(engine, recipe).tolist() == [high_cos]
    assert high_nli in selected_ids(engine, Recipe(recipe.task, recipe.min, recipe.max, dedup=False))


def test_dedup_only_among_pairs_that_pass(engine):
    failing_best = add_scored(engine, dedup_group=3, nli_forward=0.99, nli_backward=0.99, rouge_l=0.95)
    passing = add_scored(engine, dedup_group=3, nli_forward=0.8, nli_backward=0.8)
    assert selected_ids(engine, NLI).tolist() == [passing]
    assert failing_best not in selected_ids(engine, NLI)


def test_human_labels_override_critics_and_survive_rescoring(engine):
    kept = add_scored(engine)
    dropped = add_scored(engine, rouge_l=0.99)
    set_label(engine, kept, "reject")
    set_label(engine, dropped, "accept")
    assert selected_ids(engine, NLI).tolist() == [dropped]
    set_scores(engine, kept, **{"nli_forward": 0.99})  # a re-score writes new values
    set_scores(engine, dropped, **{"nli_forward": 0.01})
    assert selected_ids(engine, NLI).tolist() == [dropped]
    set_label(engine, kept, None)
    assert selected_ids(engine, NLI).tolist() == sorted([kept, dropped])


def test_accepted_pair_of_another_task_is_not_added(engine):
    summary = add_scored(engine, task="summary")
    set_label(engine, summary, "accept")
    assert selected_ids(engine, NLI).tolist() == []
    assert selected_ids(engine, Recipe.default("summary")).tolist() == [summary]


def test_default_recipe_follows_available_nli_scores(engine):
    add_scored(engine, nli_forward=None, nli_backward=None)
    assert default_recipe(engine, "paraphrase") == Recipe.default("paraphrase", "embedding")
    assert semantic_critic(engine) == "embedding cosine (no NLI model has scored this database)"
    add_scored(engine)
    assert default_recipe(engine, "paraphrase") == Recipe.default("paraphrase", "nli")
    assert default_recipe(engine, "summary").min.get("embed_cosine") is not None
    assert "NLI" in semantic_critic(engine)


def test_a_loaded_frame_chooses_the_semantic_critic_as_the_database_does(engine):
    add_scored(engine, nli_forward=None, nli_backward=None)
    add_scored(engine, task="summary", nli_backward=None)
    for task in ("paraphrase", "summary", None):
        expected = has_nli_scores(engine, task)
        assert has_nli_scores(get_frame(engine), task) is expected, task
    assert default_recipe(get_frame(engine), "paraphrase") == default_recipe(engine, "paraphrase")
    assert default_recipe(get_frame(engine), "summary") == Recipe.default("summary", "nli")
    assert semantic_critic(get_frame(engine)) == semantic_critic(engine)


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()])
def test_selection_sql_compiles_with_bound_parameters(dialect):
    recipe = Recipe("paraphrase", {"nli_forward": 0.7312}, {"rouge_l": 0.6543}, dedup=True)
    compiled = selection_query(recipe).compile(dialect=dialect)
    text = str(compiled)
    assert "row_number() over (partition by pairs.dedup_group" in text.lower()
    assert "0.7312" not in text and "0.6543" not in text  # values travel as parameters
    assert 0.7312 in compiled.params.values() and 0.6543 in compiled.params.values()
