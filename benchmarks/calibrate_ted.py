"""Where to put the ``ted`` threshold for our parser: TED-3 and TED-F on labelled MRPC train pairs.

The paper keeps pairs with constituency TED >= 12 under its own parser; link-grammar's trees are
shaped differently (flatter phrases, word classes as leaves), so the number does not carry over. This
script parses ``--pairs`` paraphrase and as many non-paraphrase pairs of the MRPC *train* file (a fixed
random sample), and prints the distribution of both distances per label, the share of each label a
threshold keeps, and the parse / TED timings.

    python benchmarks/calibrate_ted.py --mrpc ../shared/benchmarks/mrpc/msr_paraphrase_train.txt
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.parser import ParseError, load_parser  # noqa: E402
from models.trees import TOP_LEVELS, ted  # noqa: E402
from pipeline.critics.lexical import rouge_l  # noqa: E402

DEFAULT_MRPC = ROOT.parent / "shared" / "benchmarks" / "mrpc" / "msr_paraphrase_train.txt"


def read_labelled(path: Path) -> list[tuple[int, str, str]]:
    rows = []
    with path.open(encoding="utf-8-sig") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 5 and fields[0] in ("0", "1"):
                rows.append((int(fields[0]), fields[3], fields[4]))
    return rows


def sample(rows: list[tuple[int, str, str]], per_label: int, seed: int) -> list[tuple[int, str, str]]:
    rng = random.Random(seed)
    out = []
    for label in (1, 0):
        of_label = [r for r in rows if r[0] == label]
        out += rng.sample(of_label, min(per_label, len(of_label)))
    return out


def describe(name: str, values: np.ndarray) -> str:
    q = np.percentile(values, [10, 25, 50, 75, 90])
    return (
        f"{name}: n={len(values)} mean={values.mean():.2f} "
        f"p10/p25/p50/p75/p90={'/'.join(f'{x:.0f}' for x in q)}"
    )


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation (ties broken by position, enough for a rough reading)."""
    return float(np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mrpc", type=Path, default=DEFAULT_MRPC)
    parser.add_argument("--pairs", type=int, default=150, help="pairs per label")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    chosen = sample(read_labelled(args.mrpc), args.pairs, args.seed)
    lg = load_parser()
    started, trees, failed = time.perf_counter(), {}, 0
    for _, a, b in chosen:
        for text in (a, b):
            if text not in trees:
                try:
                    trees[text] = lg.parse(text)
                except ParseError:
                    trees[text] = None
                    failed += 1
    parse_s = time.perf_counter() - started
    print(
        f"parsed {len(trees)} sentences in {parse_s:.1f}s ({1000 * parse_s / len(trees):.1f} ms each), rejected {failed}"
    )

    by_label: dict[int, dict[str, list[float]]] = {1: {}, 0: {}}
    started, computed = time.perf_counter(), 0
    for label, a, b in chosen:
        if trees[a] is None or trees[b] is None:
            continue
        values = by_label[label]
        values.setdefault("ted_top", []).append(ted(trees[a], trees[b], TOP_LEVELS))
        values.setdefault("ted_full", []).append(ted(trees[a], trees[b]))
        values.setdefault("nodes", []).append((trees[a].size() + trees[b].size()) / 2)
        values.setdefault("rouge_l", []).append(rouge_l(a, b))
        computed += 1
    ted_s = time.perf_counter() - started
    print(f"TED-3 + TED-F for {computed} pairs in {ted_s:.1f}s ({1000 * ted_s / computed:.1f} ms per pair)")

    for label, name in ((1, "paraphrase"), (0, "not paraphrase")):
        values = {k: np.asarray(v) for k, v in by_label[label].items()}
        print(f"-- {name} --")
        print("  " + describe("nodes per tree", values["nodes"]))
        print("  " + describe("TED-3", values["ted_top"]))
        print("  " + describe("TED-F", values["ted_full"]))
        copies = values["rouge_l"] > 0.75
        for key, name in (("ted_top", "TED-3"), ("ted_full", "TED-F")):
            print(
                f"  {name} mean where rouge_l > 0.75 (near-copies): {values[key][copies].mean():.2f} "
                f"(n={copies.sum()}), where <= 0.75: {values[key][~copies].mean():.2f}; "
                f"Spearman with rouge_l: {spearman(values[key], values['rouge_l']):.2f}"
            )
    print("-- share kept by ted_full >= t (paraphrase / not) --")
    para, non = np.asarray(by_label[1]["ted_full"]), np.asarray(by_label[0]["ted_full"])
    print(
        "  "
        + "  ".join(
            f"t={t}: {np.mean(para >= t):.2f}/{np.mean(non >= t):.2f}" for t in (4, 6, 8, 10, 12, 14, 16, 20)
        )
    )
    top_para, top_non = np.asarray(by_label[1]["ted_top"]), np.asarray(by_label[0]["ted_top"])
    print("-- share kept by ted_top >= t (paraphrase / not) --")
    print(
        "  "
        + "  ".join(
            f"t={t}: {np.mean(top_para >= t):.2f}/{np.mean(top_non >= t):.2f}" for t in (1, 2, 3, 4, 5, 6, 8)
        )
    )


if __name__ == "__main__":
    main()
