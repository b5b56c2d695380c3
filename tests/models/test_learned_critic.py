"""The learned critic's text features, by hand."""

from __future__ import annotations

import math

import pytest

from models.learned_critic import OVERLAP_FEATURES, overlap_features


def test_overlap_features_match_hand_computed_values():
    got = dict(zip(OVERLAP_FEATURES, overlap_features("The cat sat.", "The cat sat down."), strict=True))
    assert got == pytest.approx(
        {
            "abs_log_length_ratio": abs(math.log(17 / 12)),
            "jaccard_1": 3 / 4,  # {the cat sat} of {the cat sat down}
            "jaccard_2": 2 / 3,  # {the cat, cat sat} of those plus {sat down}
            "jaccard_3": 1 / 2,
            "target_in_source": 3 / 4,
            "source_in_target": 1.0,
            "word_count_gap": 1 / 4,
            "numbers_differing": 0.0,
        }
    )
    assert overlap_features("Sales rose 5% to 1,200.", "Sales rose 7% to 1,200.")[-1] == 2.0
