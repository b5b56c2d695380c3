"""One parameter spec per job kind: the job's check, the CLI's flags and the studio's command preview agree."""

from __future__ import annotations

import argparse

import pytest

from pipeline.distill_job import validate_params as distill_params
from pipeline.params import DISTILL, EVALUATE, add_flags, check, command, params_from_args
from pipeline.runner import UserError


def parsed(spec, argv: list[str]) -> dict:
    parser = argparse.ArgumentParser()
    add_flags(parser, spec)
    return params_from_args(parser.parse_args(argv), spec)


def test_check_fills_defaults_and_names_the_bad_parameter_with_its_bounds():
    p = check(EVALUATE, {"run": 3, "benchmark": "b.jsonl", "limit": None}, "evaluate")
    assert p["alpha"] == 0.7 and p["batch_size"] == 16 and p["limit"] is None
    for bad, message in (
        ({"alpha": 1.5}, "evaluate parameter alpha must be a number from 0 to 1, got 1.5"),
        ({"batch_size": 0}, "batch_size must be a whole number from 1 to 4,096, got 0"),
        ({"limit": 0}, "limit must be a whole number of at least 1"),
        ({"samples": 2.5}, "samples must be a whole number"),
        ({"samples": True}, "samples must be a whole number"),
        ({"alpha": float("nan")}, "alpha must be a number from 0 to 1, got nan"),
        ({"format": "xml"}, "format must be one of auto, mrpc, jsonl, lines, tsv"),
        ({"untrained": "yes"}, "untrained must be true or false"),
        ({"benchmark": 7}, "benchmark must be text"),
        ({"color": "red"}, "Unknown evaluate parameter(s) color"),
    ):
        with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
            check(EVALUATE, {"run": 1, "benchmark": "b.jsonl", **bad}, "evaluate")
    with pytest.raises(UserError, match="The evaluate job needs --run"):
        check(EVALUATE, {"benchmark": "b.jsonl"}, "evaluate")


def test_a_default_on_switch_turns_it_off_and_round_trips_through_the_command():
    assert parsed(DISTILL, ["--run", "2"])["score"] is None  # absent: the job's default (score) applies
    params = parsed(DISTILL, ["--run", "2", "--no-score", "--samples", "4"])
    assert params["score"] is False and params["samples"] == 4
    line = command("distill", "sqlite:///s.db", params, DISTILL)
    assert line.endswith("--run 2 --samples 4 --no-score")
    assert "--no-score" not in command("distill", "sqlite:///s.db", {"run": 2, "score": True}, DISTILL)
    assert parsed(EVALUATE, ["--run", "1", "--benchmark", "b", "--untrained"])["untrained"] is True


def test_distill_checks_its_spec_and_the_executor_keys():
    p = distill_params({"run": 1, "executor": "ray", "ray_workers": 2})
    assert p["samples"] == 10 and p["top_p"] == 0.9 and p["executor"] == "ray" and p["score"] is True
    with pytest.raises(UserError, match="distill parameter backend must be one of auto, torch, ctranslate2"):
        distill_params({"run": 1, "backend": "vllm"})
    with pytest.raises(UserError, match="Unknown executor 'spark'"):
        distill_params({"run": 1, "executor": "spark"})


def test_a_train_job_checks_its_settings_against_the_spec_before_loading_anything():
    from pipeline.train_job import train_config

    config = train_config({"version": "v1", "lora": True, "eval_every": 5}, "paraphrase")
    assert config.eval_every == 5 and config.resolved_lr() == 2e-4  # lr left to TrainConfig (LoRA: 2e-4)
    with pytest.raises(
        UserError, match="train parameter eval_fraction must be a number from 0 to 0.5, got 0.8"
    ):
        train_config({"version": "v1", "eval_fraction": 0.8}, "paraphrase")
    with pytest.raises(UserError, match="Unknown train parameter\\(s\\) warmup"):
        train_config({"version": "v1", "warmup": 0.1}, "paraphrase")


def test_the_cli_refuses_an_impossible_training_setting_before_queueing(db_url, capsys):
    from cli import main
    from db import connect
    from db import jobs as job_rows

    assert main(["train", "--db", db_url, "--version", "v1", "--epochs", "0"]) != 0
    assert "train parameter epochs must be a whole number from 1 to 1,000, got 0" in capsys.readouterr().err
    assert job_rows.recent(connect(db_url)) == []
