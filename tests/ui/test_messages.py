"""What the studio's pages say: counts with the right sign, critic names, version diffs, export and
import messages, the loss chart and the run table, the review progress bar and restored form values."""

from __future__ import annotations

import json

import pytest

from curation.recipe import Recipe
from curation.review import set_label
from curation.stats import summarize
from curation.versions import diff_versions, save_version
from db import runs
from ui.curate import curate_view, saved_recipe
from ui.evaluate import EXAMPLE_HEADERS, examples_frame, examples_update
from ui.form_state import restored
from ui.review import queue_progress_html
from ui.tables import critic_rows, headline
from ui.train import held_out_text, loss_curve, run_table
from ui.versions import diff_markdown, export_message

RECIPE = Recipe.default("paraphrase", "embedding")


def test_rejections_of_pairs_the_critics_dropped_say_so_without_a_minus_zero(ctx):
    kept = curate_view(ctx, RECIPE, "kept", "id", 1)
    rejected_view = curate_view(ctx, RECIPE, "rejected", "id", 1)
    assert "no human labels yet" in kept[0]
    first_rejected = int(rejected_view[3].split("<td>")[1].split("</td>")[0])
    set_label(ctx.engine, first_rejected, "reject")
    text = headline(summarize(ctx.engine, RECIPE), "")
    assert "−0" not in text and "-0" not in text
    assert "1 rejected (0 of them kept by the critics, now removed)" in text


def test_length_ratio_rows_say_which_bound_they_are(ctx):
    names = [row[0] for row in critic_rows(summarize(ctx.engine, RECIPE))]
    assert "length_ratio (min)" in names and "length_ratio (max)" in names
    assert "length_ratio" not in names and "rouge_l" in names


def test_comparing_a_version_with_itself_does_not_claim_labels_differ(ctx):
    save_version(ctx.engine, "v1", RECIPE)
    same = diff_markdown(diff_versions(ctx.engine, "v1", "v1"))
    assert "labels differ" not in same and "the same version on both sides" in same
    save_version(ctx.engine, "v1-again", RECIPE)
    assert "the same thresholds and the same pairs" in diff_markdown(
        diff_versions(ctx.engine, "v1", "v1-again")
    )


def test_export_message_counts_human_overrides():
    assert export_message(3, "exports/a.jsonl", 0) == "Wrote 3 pairs to `exports/a.jsonl`."
    text = export_message(3, "exports/a.jsonl", 1)
    assert "1 of them are in only because a human accepted them against the critics" in text


def test_import_errors_name_the_uploaded_file_not_its_temporary_path(engine, tmp_path):
    from curation.export import import_jsonl

    upload = tmp_path / "gradio" / "0a1b2c3d" / "my pairs.jsonl"
    upload.parent.mkdir(parents=True)
    upload.write_text(json.dumps({"source": "a"}) + "\n")
    with pytest.raises(ValueError) as error:
        import_jsonl(engine, upload, display_name=upload.name)
    assert str(error.value).startswith("my pairs.jsonl: 1 bad line(s)") and str(tmp_path) not in str(
        error.value
    )


def test_empty_loss_chart_has_no_series_and_says_why():
    empty = loss_curve([])
    assert empty.value is None and "No loss logged yet" in empty.caption
    train_only = loss_curve([{"step": 1, "train_loss": 2.4837, "eval_loss": None}])
    assert train_only.colors_in_legend == ["train"]
    both = loss_curve(
        [{"step": 1, "train_loss": 2.5, "eval_loss": None}, {"step": 2, "train_loss": 2.1, "eval_loss": 2.3}]
    )
    assert both.colors_in_legend == ["train", "eval"]


def test_the_held_out_split_is_explained():
    assert held_out_text({"eval_fraction": 0.1, "eval_every": 25}, 40).startswith(
        "held-out eval: 4 of 40 pairs"
    )
    assert "has 1 pair(s), too few" in held_out_text({"eval_fraction": 0.1}, 1)
    assert "eval fraction 0" in held_out_text({"eval_fraction": 0.0}, 40)


def test_run_table_shows_the_resolved_learning_rate(ctx):
    save_version(ctx.engine, "v1", RECIPE)
    version_id = diff_versions(ctx.engine, "v1", "v1")["a"]["id"]
    for lora in (False, True):
        runs.create_run(
            ctx.engine, job_id=None, version_id=version_id, recipe_hash=RECIPE.hash, student="embedded",
            config={"lr": None, "lora": lora, "batch_size": 8}, output_dir="runs/x",
        )  # fmt: skip
    assert sorted(row[6] for row in run_table(ctx.engine)) == ["0.0002", "5e-05"]


def test_an_empty_per_example_table_keeps_its_column_names(engine):
    update = examples_update(examples_frame(engine, None))
    assert update.headers == EXAMPLE_HEADERS


def test_review_progress_bar_and_restored_curate_recipe(ctx):
    assert "3 labelled of 50 in queue" in queue_progress_html(3, 50)
    assert 'value="3" max="50"' in queue_progress_html(3, 50)
    strict = Recipe("paraphrase", {"embed_cosine": 0.95}, {}, dedup=False)
    assert saved_recipe(ctx.engine, strict.to_dict(), "paraphrase") == strict
    assert saved_recipe(ctx.engine, {"task": "nonsense"}, "paraphrase") == RECIPE
    assert saved_recipe(ctx.engine, None, "paraphrase") == RECIPE
    assert restored({"values": [1, 2]}, 2) == [1, 2] and restored({"values": [1]}, 2) is None
