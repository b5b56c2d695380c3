"""Training loop: the loss falls, checkpoints resume the same run, a finished model reloads identically."""

from __future__ import annotations

import json

import pytest

from models.loading import ModelLoadError
from models.student import load_student
from models.train import (
    RunMismatch,
    TrainConfig,
    batch_indices,
    latest_checkpoint,
    lr_factor,
    split_eval,
    train,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PAIRS = [
    ("The cat sat on the mat.", "A cat was sitting on the mat."),
    ("Prices rose by 5 percent.", "Prices went up 5 percent."),
    ("He left the room quickly.", "He quickly walked out of the room."),
    ("The meeting starts at noon.", "The meeting begins at 12."),
] * 4


def config(student, **overrides) -> TrainConfig:
    base = dict(student=str(student), batch_size=4, lr=1e-2, eval_fraction=0.25, eval_every=2, device="cpu")
    return TrainConfig(**{**base, **overrides})


@pytest.mark.parametrize("fixture", ["tiny_seq2seq", "tiny_teacher"])
def test_loss_falls_for_both_student_kinds(fixture, request, tmp_path):
    student_dir = request.getfixturevalue(fixture)
    logs = []
    result = train(config(student_dir, max_steps=12), PAIRS, tmp_path / "run", on_step=logs.append)
    assert [log.step for log in logs] == list(range(1, 13))
    assert logs[-1].train_loss < logs[0].train_loss * 0.8
    evals = [log.eval_loss for log in logs if log.eval_loss is not None]
    assert len(evals) == 6 and evals[-1] < evals[0]
    assert (result.final_dir / "student.json").is_file()
    state = json.loads((result.final_dir / "state.json").read_text())
    assert state["config"]["max_steps"] == 12 and state["train_pairs"] == 12 and state["eval_pairs"] == 4


def test_finished_model_reloads_with_identical_greedy_outputs(tiny_seq2seq, tmp_path):
    result = train(config(tiny_seq2seq, max_steps=6), PAIRS, tmp_path / "run", recipe_hash="abc123")
    first = load_student(str(result.final_dir), device="cpu")
    second = load_student(str(result.final_dir), device="cpu")
    sources = [s for s, _ in PAIRS[:4]]
    assert first.generate(sources, max_new_tokens=8) == second.generate(sources, max_new_tokens=8)
    assert json.loads((result.final_dir / "state.json").read_text())["recipe_hash"] == "abc123"


@pytest.mark.parametrize("lora", [False, True])
def test_stopped_run_resumes_to_the_same_weights_as_an_uninterrupted_one(tiny_teacher, tmp_path, lora):
    straight = train(config(tiny_teacher, max_steps=8, checkpoint_every=3, lora=lora), PAIRS, tmp_path / "a")
    asked = iter([False] * 5 + [True])
    stopped = train(config(tiny_teacher, max_steps=8, checkpoint_every=3, lora=lora), PAIRS, tmp_path / "b",
                    should_stop=lambda: next(asked, False))  # fmt: skip
    assert stopped.stopped and stopped.steps == 5
    assert latest_checkpoint(tmp_path / "b").name == "checkpoint-5"
    starts = []
    resumed = train(config(tiny_teacher, max_steps=8, checkpoint_every=3, lora=lora), PAIRS, tmp_path / "b",
                    on_start=starts.append)  # fmt: skip
    assert starts == [5] and resumed.steps == 8 and [h.step for h in resumed.history] == [6, 7, 8]
    a = load_student(str(straight.final_dir), device="cpu").model.state_dict()
    b = load_student(str(resumed.final_dir), device="cpu").model.state_dict()
    assert all((a[k] - b[k]).abs().max() < 1e-5 for k in a)


def test_lora_trains_only_the_adapter_and_saves_a_merged_model(tiny_teacher, tmp_path):
    result = train(config(tiny_teacher, max_steps=4, lora=True, lr=1e-2), PAIRS, tmp_path / "run")
    assert result.resolved["trainable_parameters"] < 20_000
    merged = load_student(str(result.final_dir), device="cpu")
    assert not any("lora" in name for name in merged.model.state_dict())


def test_data_order_warmup_and_split_are_deterministic():
    assert batch_indices(5, 10, 4, seed=1) == batch_indices(5, 10, 4, seed=1)
    epoch = [i for step in range(3) for i in batch_indices(step, 10, 4, seed=1)]
    assert sorted(epoch) == list(range(10))
    assert [round(lr_factor(s, 10, 2), 2) for s in (0, 1, 2, 9)] == [0.5, 1.0, 1.0, 0.12]
    train_part, eval_part = split_eval(PAIRS, 0.25, seed=0)
    assert len(eval_part) == 4 and len(train_part) == 12


def test_bad_inputs_give_clear_errors(tiny_seq2seq, tmp_path):
    with pytest.raises(ValueError, match="no pairs"):
        train(config(tiny_seq2seq, max_steps=2), [], tmp_path / "empty")
    with pytest.raises(ValueError, match="batch_size"):
        train(config(tiny_seq2seq, batch_size=0), PAIRS, tmp_path / "bad")
    with pytest.raises(ModelLoadError, match="Cannot load student 'nobody/no-such-model'"):
        train(config("nobody/no-such-model", max_steps=2), PAIRS, tmp_path / "missing")


def test_a_folder_of_another_run_is_refused_not_reused(tiny_seq2seq, tmp_path):
    folder = tmp_path / "run"
    done = train(config(tiny_seq2seq, max_steps=2), PAIRS, folder, run_identity="db-a/run-1")
    assert done.final_dir is not None
    # another database's run 1 pointed at the same folder must not get run 1's model back as "done"
    with pytest.raises(RunMismatch, match="another run"):
        train(config("nobody/no-such-student", max_steps=2), PAIRS, folder, run_identity="db-b/run-1")
    # the same run with another configuration is refused too
    with pytest.raises(RunMismatch, match="another configuration"):
        train(config(tiny_seq2seq, max_steps=3), PAIRS, folder, run_identity="db-a/run-1")
    again = train(config(tiny_seq2seq, max_steps=2), PAIRS, folder, run_identity="db-a/run-1")
    assert again.final_dir == done.final_dir and again.steps == 2


def test_a_checkpoint_of_another_run_is_not_resumed(tiny_seq2seq, tmp_path):
    folder, cfg = tmp_path / "run", config(tiny_seq2seq, max_steps=4, checkpoint_every=2)
    train(cfg, PAIRS, folder, run_identity="db-a/run-1", should_stop=lambda: True)
    assert latest_checkpoint(folder) is not None
    with pytest.raises(RunMismatch, match="checkpoint of another run"):
        train(cfg, PAIRS, folder, run_identity="db-b/run-1")
    resumed = train(cfg, PAIRS, folder, run_identity="db-a/run-1")  # trainer_state.pt loads weights-only
    assert resumed.steps == 4 and resumed.final_dir is not None


def test_latest_pointing_outside_the_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere" / "checkpoint-1"
    outside.mkdir(parents=True)
    (outside / "state.json").write_text(json.dumps({"step": 1}))
    folder = tmp_path / "run"
    folder.mkdir()
    for pointer in ("../elsewhere/checkpoint-1", str(outside), "checkpoint-1/../../elsewhere/checkpoint-1"):
        (folder / "latest").write_text(pointer)
        with pytest.raises(RunMismatch, match="not a checkpoint-<step> folder inside"):
            latest_checkpoint(folder)
