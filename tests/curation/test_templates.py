"""The template shown with each pair: the top levels of the stored parses, read, never computed."""

from __future__ import annotations

from curation.recipe import Recipe
from curation.templates import with_templates
from db.parses import StoredParse, store_parses
from ui.tables import pair_card_html, pairs_table_html

SOURCE, TARGET, REJECTED = "The cat sat on the mat.", "On the mat sat the cat.", "the the the of of"


def store(engine):
    with engine.begin() as conn:
        store_parses(
            conn,
            "link-grammar",
            {
                SOURCE: StoredParse("(S (NP w n) (VP v (PP w (NP w n))) .)", None),
                TARGET: StoredParse("(S (PP w (NP w n)) (VP v (NP w n)) .)", None),
                REJECTED: StoredParse(None, "link-grammar found no parse"),
            },
        )


def test_templates_are_the_top_three_levels_of_the_stored_parses(engine):
    store(engine)
    rows = [
        {"id": 1, "source": SOURCE, "target": TARGET},
        {"id": 2, "source": SOURCE, "target": REJECTED},
        {"id": 3, "source": SOURCE, "target": "Never parsed."},
    ]
    parsed, rejected, unparsed = with_templates(engine, rows)
    assert parsed["source_template"] == "(S (NP w n) (VP v PP) .)"
    assert parsed["target_template"] == "(S (PP w NP) (VP v NP) .)"
    assert parsed["parse_error"] is None
    assert (
        rejected["target_template"] is None
        and rejected["parse_error"] == "target: link-grammar found no parse"
    )
    assert unparsed["target_template"] is None and unparsed["parse_error"] is None


def test_curate_and_review_show_the_template_collapsed(engine):
    store(engine)
    (row,) = with_templates(engine, [{"id": 1, "source": SOURCE, "target": TARGET}])
    table_row = {**row, "reasons": [], "diff_html": "", "scores": {}}
    table = pairs_table_html([table_row], "kept")
    assert '<details class="id-template"><summary>template</summary>' in table  # closed until clicked
    assert "(S (PP w NP) (VP v NP) .)" in table
    card = pair_card_html({**row, "queue": "random"}, Recipe())
    assert "<details" in card and "open" not in card and "(S (NP w n) (VP v PP) .)" in card
    (unparsed,) = with_templates(engine, [{"id": 2, "source": SOURCE, "target": "Never parsed."}])
    assert "not parsed yet" in pair_card_html({**unparsed, "queue": "random"}, Recipe())
