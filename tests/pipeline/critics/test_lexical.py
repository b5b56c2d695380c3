"""The cheap critics: each rejection reason on scores the critics computed, plus a good pair passing."""

import pytest
from rouge_score import rouge_scorer

from curation.recipe import Recipe
from pipeline.critics.lexical import (
    CHEAP_COLUMNS,
    CriticError,
    cheap_scores,
    length_ratio,
    numbers_in,
    numbers_ok,
    rouge_l,
)

SOURCE = "The city council approved a new budget of 3 million dollars on Tuesday."


def lexical_reasons(source: str, target: str, task: str = "paraphrase") -> list[str]:
    """The default recipe's verdict on the cheap scores alone (its semantic checks left out)."""
    default = Recipe.default(task)
    recipe = Recipe(
        task,
        {c: v for c, v in default.min.items() if c in CHEAP_COLUMNS},
        {c: v for c, v in default.max.items() if c in CHEAP_COLUMNS},
    )
    return recipe.reasons(cheap_scores(source, target, task))


def test_a_good_paraphrase_passes():
    target = "On Tuesday, the council of the city passed a fresh 3 million dollar budget."
    assert lexical_reasons(SOURCE, target) == []


def test_near_copy_is_rouge_l_high():
    target = "The city council approved a new budget of 3 million dollars on Monday."
    assert lexical_reasons(SOURCE, target) == ["rouge_l_high"]


def test_much_shorter_target_is_length_ratio_low():
    assert lexical_reasons(SOURCE, "Council passes 3 million budget.") == ["length_ratio_low"]


def test_much_longer_target_is_length_ratio_high():
    target = (
        "After weeks of heated debate among residents and officials, the members of the municipal "
        "council finally voted on Tuesday to adopt a brand new spending plan worth 3 million dollars."
    )
    assert lexical_reasons(SOURCE, target) == ["length_ratio_high"]


def test_summary_that_does_not_compress_is_length_ratio_high():
    target = "On Tuesday, the council of the city passed a fresh budget worth 3 million dollars."
    assert lexical_reasons(SOURCE, target, "summary") == ["length_ratio_high"]


def test_a_good_summary_passes():
    assert lexical_reasons(SOURCE, "Council passes 3 million dollar budget.", "summary") == []


def test_invented_number_is_numbers_ok_low():
    target = "On Tuesday, the council of the city passed a fresh 5 million dollar budget."
    assert lexical_reasons(SOURCE, target) == ["numbers_ok_low"]


def test_paraphrase_that_drops_a_number_is_numbers_ok_low_but_a_summary_may():
    assert numbers_ok("Sales rose 4 percent in 2020.", "Sales rose in 2020.", "paraphrase") == 0.0
    assert numbers_ok("Sales rose 4 percent in 2020.", "Sales rose in 2020.", "summary") == 1.0
    assert numbers_ok("Sales rose in 2020.", "Sales rose 4 percent in 2020.", "summary") == 0.0


def test_numbers_are_normalised():
    assert numbers_in("It cost 1,000 dollars, not 2.50 or 3.0, in 2020.") == {"1000", "2.5", "3", "2020"}
    assert numbers_ok("They hired 1,000 people.", "1000 people were hired.") == 1.0
    assert numbers_ok("Items 1,2,3 were sold.", "Items 1, 2 and 3 were sold.") == 1.0


def test_length_ratio_is_characters_of_target_over_source():
    assert length_ratio("abcd", "ab") == 0.5
    assert length_ratio("  abcd ", "abcdef") == 1.5


def test_rouge_l_is_the_rouge_score_f1_and_symmetric():
    a, b = "the cat sat on the mat", "a cat was sitting on the mat today"
    expected = rouge_scorer.RougeScorer(["rougeL"]).score(a, b)["rougeL"].fmeasure
    assert rouge_l(a, b) == pytest.approx(expected)
    assert rouge_l(b, a) == pytest.approx(expected)


def test_empty_sentences_are_a_critic_error():
    with pytest.raises(CriticError, match="empty source"):
        cheap_scores("   ", "Something.", "paraphrase")
    with pytest.raises(CriticError, match="empty target"):
        cheap_scores("Something.", "", "paraphrase")


def test_only_the_requested_columns_are_computed():
    assert set(cheap_scores(SOURCE, "Council passes budget.", "summary", ("rouge_l",))) == {"rouge_l"}
