"""``--executor``, ``--ray-address`` and ``--ray-workers``: shared by ``generate`` and ``score``."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.executor import DEFAULTS, EXECUTORS


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local (this process, default) or ray: the job's units run on the actors of a Ray cluster",
    )
    parser.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="with --executor ray: the cluster (auto, HOST:6379, ray://HOST:10001); default: the one "
        "`ray start` runs on this machine, else a Ray started for the job here",
    )
    parser.add_argument(
        "--ray-workers",
        type=int,
        default=0,
        help="with --executor ray: actors to start (default 0 = one per GPU of the cluster, else one per CPU)",
    )


def executor_params(args: argparse.Namespace) -> dict[str, Any]:
    """The executor keys the user set (a local job's parameters stay as they were before Ray existed)."""
    given = {"executor": args.executor, "ray_address": args.ray_address, "ray_workers": args.ray_workers}
    return {key: value for key, value in given.items() if value != DEFAULTS[key]}


def check_ray_reachable(params: dict[str, Any]) -> None:
    """Before a foreground job is queued: Ray installed and its address answering, else one sentence."""
    if params.get("executor") != "ray":
        return
    from pipeline import ray_executor

    ray_executor.check_available(params.get("ray_address"))
