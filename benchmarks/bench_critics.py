"""Which critic agrees with human paraphrase judgements: the learned critic against embedding cosine.

Fresh databases; MRPC train (4,076 labelled pairs) imported as labelled pairs and scored (lexical critics +
the embedded MiniLM; no NLI model offline; pre-gate off so every pair is scored); the learned critic trained
on those labels; then MRPC test (all 1,725 labelled pairs) imported and scored with the same critics plus
the learned one, and every column's AUC against the test labels. A SICK test check (entailment vs not, the
first ``--sick-limit`` pairs) shows whether the critic learned paraphrase or memorised MRPC.

    .venv/bin/python benchmarks/bench_critics.py [--benchmarks ../shared/benchmarks] [--sick-limit 2000]

Last two lines: ``auc_embed_cosine=<x>`` and ``auc_learned=<x>`` (MRPC test). Target: learned >= cosine + 0.05.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation.agreement import agreement, agreement_table  # noqa: E402
from curation.importing import import_labelled  # noqa: E402
from curation.recipe import Recipe  # noqa: E402
from db import connect  # noqa: E402
from db import jobs as job_rows  # noqa: E402
from pipeline import critic_job, runner  # noqa: E402

NO_GATE = {"min": {"length_ratio": None}, "max": {"length_ratio": None, "rouge_l": None}}
ROOT = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"


def score(engine, critic: str | None = None) -> float:
    """Run a score job (embedder, no NLI, gate off, optionally the learned critic); return its seconds."""
    params = {"embedder": "embedded", "gate": NO_GATE, "batch_size": 512}
    if critic:
        params["critic"] = critic
    started = time.monotonic()
    job = job_rows.submit(engine, "score", params)
    if runner.run_job(engine, job) != "done":
        raise SystemExit(f"score job failed: {job_rows.get(engine, job)['error']}")
    return time.monotonic() - started


def labelled_db(folder: Path, name: str, path: Path, fmt: str):
    engine = connect(f"sqlite:///{folder / name}.db")
    result = import_labelled(engine, path, fmt)
    print(
        f"{name}: imported {result['records']} pairs ({result['accepted']} accept, {result['rejected']} reject)"
    )
    return engine


def auc_rows(engine, samples: int) -> dict[str, dict]:
    recipe = Recipe.default("paraphrase", "embedding")
    return {r["column"]: r for r in agreement(engine, recipe, target=0.9, samples=samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=Path, default=ROOT)
    parser.add_argument("--sick-limit", type=int, default=2000, help="SICK test pairs to check (0 = skip)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    folder = Path(tempfile.mkdtemp(prefix="bench_critics_"))
    mrpc = args.benchmarks / "mrpc"
    train_db = labelled_db(folder, "mrpc_train", mrpc / "msr_paraphrase_train.txt", "mrpc")
    print(f"scored MRPC train in {score(train_db):.1f}s")
    started = time.monotonic()
    meta = critic_job.train({"out": str(folder / "critic"), "seed": 0}, train_db)
    train_s = time.monotonic() - started
    for name, auc in meta["candidates"].items():
        print(f"candidate {name}: cross-validated AUC on MRPC train {auc:.4f}")
    print(
        f"trained {meta['model']} in {train_s:.1f}s wall ({meta['features']} features, {meta['pairs']} labels)"
    )

    test_db = labelled_db(folder, "mrpc_test", mrpc / "msr_paraphrase_test.txt", "mrpc")
    print(f"scored MRPC test (with the learned critic) in {score(test_db, str(folder / 'critic')):.1f}s")
    rows = auc_rows(test_db, args.bootstrap)
    print("MRPC test:")
    print(agreement_table(list(rows.values()), 0.9))

    if args.sick_limit:
        lines = (
            (args.benchmarks / "sick" / "SICK_test_annotated.txt").read_text(encoding="utf-8").splitlines()
        )
        subset = folder / "sick_subset.txt"
        subset.write_text("\n".join(lines[: args.sick_limit]) + "\n", encoding="utf-8")
        sick_db = labelled_db(folder, "sick_test", subset, "sick")
        print(f"scored SICK test subset in {score(sick_db, str(folder / 'critic')):.1f}s")
        sick = auc_rows(sick_db, args.bootstrap)
        for column in ("embed_cosine", "learned"):
            r = sick[column]
            print(f"SICK test {column}: AUC {r['auc']:.4f} [{r['auc_low']:.4f}, {r['auc_high']:.4f}]")
    print(f"train_seconds={train_s:.1f}")
    print(f"auc_embed_cosine={rows['embed_cosine']['auc']:.4f}")
    print(f"auc_learned={rows['learned']['auc']:.4f}")


if __name__ == "__main__":
    main()
