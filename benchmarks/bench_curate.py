"""How fast does the Curate page answer a threshold move on 1,000,000 scored pairs?

Fills a SQLite database with synthetic scored pairs (realistic score distributions, NULLs where a cheap
pre-gate skipped NLI, dedup groups, some human labels), then replays random threshold moves. One move is
the work behind the page: surviving count + every histogram + per-critic removal counts (alone, only it,
loosen one step) + the first table page.

* frame: ``curation.frame.get_frame`` (signature check against the database, arrays cached in memory)
  + ``curation.stats.summarize`` + ``curation.stats.page``.
* naive: the same numbers from indexed SQL queries per move (selection with the dedup window function,
  GROUP BY histograms, one count per critic), as a plain implementation would issue them.

Also times the page load: frame load plus the first summary and page, cold (from the database) and
after a restart (from the frame's disk copy, ``curation.frame_store``). The last line is
``p95_ms=<frame p95> speedup_vs_naive=<naive p95 / frame p95>``.

    .venv/bin/python benchmarks/bench_curate.py [--pairs 1000000] [--moves 50] [--naive-moves 5]
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, Integer, case, cast, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation import frame as frames  # noqa: E402
from curation.recipe import Recipe  # noqa: E402
from curation.select import count_selected, selection_query  # noqa: E402
from curation.stats import BINS, loosened, page, summarize  # noqa: E402
from db import connect  # noqa: E402
from db.schema import SCORE_COLUMNS, pairs  # noqa: E402
from db.scores import UNIT_COLUMNS  # noqa: E402

INSERT_CHUNK = 50_000


def synthetic_rows(n: int, seed: int):
    """Rows for ``pairs`` in chunks: scores drawn like a real run's, 30% of pairs in dedup groups."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, INSERT_CHUNK):
        size = min(INSERT_CHUNK, n - start)
        ids = np.arange(start, start + size)
        length = rng.lognormal(0.0, 0.3, size)
        rouge = rng.beta(3, 3, size)
        numbers = (rng.random(size) < 0.92).astype(float)
        cosine = rng.beta(8, 2, size)
        gate = rng.random(size) < 0.8  # pairs the pre-gate let through to NLI
        forward = np.where(gate, rng.beta(4, 1.5, size), np.nan)
        backward = np.where(gate, rng.beta(4, 1.5, size), np.nan)
        grouped = rng.random(size) < 0.3
        group = np.where(grouped, ids // 4, -1)
        task = np.where(rng.random(size) < 0.9, "paraphrase", "summary")
        rows = []
        for i in range(size):
            source = f"Source sentence number {start + i} about the markets today."
            target = f"Target sentence {start + i} rewording the market news."
            key = hashlib.sha1(f"{task[i]}\x00{source}\x00{target}".encode()).hexdigest()
            rows.append(
                (
                    task[i], key, source, target, "generated", 0,
                    float(length[i]), float(rouge[i]), float(numbers[i]), float(cosine[i]),
                    None if np.isnan(forward[i]) else float(forward[i]),
                    None if np.isnan(backward[i]) else float(backward[i]),
                    int(group[i]) if group[i] >= 0 else None,
                )
            )  # fmt: skip
        yield rows


def fill(path: Path, n: int, seed: int = 0) -> None:
    """Create the schema through ``db.connect`` and bulk-insert ``n`` pairs and 2,000 labels."""
    connect(f"sqlite:///{path}").dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    # the six scores drawn above; later score columns (learned critic, tree edit distance) stay NULL
    drawn = ("length_ratio", "rouge_l", "numbers_ok", "embed_cosine", "nli_forward", "nli_backward")
    columns = "task, pair_key, source, target, origin, round, " + ", ".join(drawn) + ", dedup_group"
    marks = ", ".join("?" * 13)
    for rows in synthetic_rows(n, seed):
        conn.executemany(f"INSERT INTO pairs ({columns}) VALUES ({marks})", rows)
    rng = np.random.default_rng(seed + 1)
    labelled = rng.choice(np.arange(1, n + 1), size=min(2000, n), replace=False)
    conn.executemany(
        "INSERT INTO labels (pair_id, decision, note, queue, labelled_at) VALUES (?, ?, '', 'random', datetime('now'))",
        [(int(i), "accept" if rng.random() < 0.8 else "reject") for i in labelled],
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def random_moves(count: int, seed: int) -> list[Recipe]:
    """A walk of threshold moves from the default recipe: each move sets one threshold anew."""
    rng = np.random.default_rng(seed)
    recipe = Recipe.default("paraphrase", "nli")
    out = []
    for _ in range(count):
        checks = [("min", c) for c in recipe.min] + [("max", c) for c in recipe.max]
        bound, column = checks[rng.integers(len(checks))]
        high = 1.0 if column in UNIT_COLUMNS else 2.5
        value = round(float(rng.uniform(0.0, high)), 2)
        other = recipe.max if bound == "min" else recipe.min
        if column in other:  # keep min <= max
            value = min(value, other[column]) if bound == "min" else max(value, other[column])
        recipe = recipe.with_threshold(bound, column, value)
        out.append(recipe)
    return out


def first_view(frame: frames.ScoreFrame) -> None:
    """What the Curate page computes when it opens: the default recipe's summary and first page."""
    summarize(frame, Recipe.default("paraphrase", "nli"))
    page(frame, Recipe.default("paraphrase", "nli"), "kept", 0, 20)


def timed_page_load(engine, label: str) -> None:
    """Load the frame and compute the Curate page's first view; print wall and CPU time."""
    started, started_cpu = time.perf_counter(), time.process_time()
    frame = frames.get_frame(engine)
    load_s = time.perf_counter() - started
    first_view(frame)
    page_load_s = time.perf_counter() - started
    cpu_s = time.process_time() - started_cpu
    print(
        f"{label}: {load_s:.2f}s; with first summary + page: {page_load_s:.2f}s (CPU {cpu_s:.2f}s)",
        flush=True,
    )
    return frame


def frame_move(engine: Engine, recipe: Recipe) -> int:
    frame = frames.get_frame(engine)
    summary = summarize(frame, recipe)
    page(frame, recipe, "kept", 0, 20)
    return summary["survivors"]


def naive_move(engine: Engine, recipe: Recipe) -> int:
    """The same numbers from per-move SQL queries."""
    in_task = pairs.c.task == recipe.task
    checks = {("min", c): pairs.c[c] >= v for c, v in recipe.min.items()}
    checks |= {("max", c): pairs.c[c] <= v for c, v in recipe.max.items()}
    survivors = count_selected(engine, recipe)
    selected = selection_query(recipe).order_by(None).subquery()
    with engine.connect() as conn:
        for column in SCORE_COLUMNS:
            low, high, bins = BINS[column]
            bucket = cast((pairs.c[column] - low) / (high - low) * bins, Integer)
            for where in (in_task, pairs.c.id.in_(select(selected.c.id))):
                conn.execute(select(bucket, func.count()).where(where).group_by(bucket)).all()
        for key, passes in checks.items():
            others = [p for k, p in checks.items() if k != key]
            fails = func.coalesce(case((passes, 0), else_=1), 1)
            conn.execute(select(func.count()).where(in_task, fails == 1)).scalar_one()
            conn.execute(select(func.count()).where(in_task, fails == 1, *others)).scalar_one()
            wider = recipe.with_threshold(
                key[0], key[1], loosened(key[0], key[1], getattr(recipe, key[0])[key[1]])
            )
            wider_ids = selection_query(wider).order_by(None).subquery()
            conn.execute(
                select(func.count()).where(
                    pairs.c.id.in_(select(wider_ids.c.id)), pairs.c.id.not_in(select(selected.c.id))
                )
            ).scalar_one()
        conn.execute(selection_query(recipe).limit(20)).all()
    return survivors


def timed(fn, engine: Engine, recipes: list[Recipe]) -> tuple[list[float], list[float], list[int]]:
    """Wall-clock and CPU milliseconds per move (CPU time shows the cost apart from other processes on a
    shared machine), and each move's survivor count."""
    wall, cpu, counts = [], [], []
    for recipe in recipes:
        started, started_cpu = time.perf_counter(), time.process_time()
        counts.append(fn(engine, recipe))
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu, counts


def describe(name: str, wall: list[float], cpu: list[float]) -> str:
    return (
        f"{name}: {len(wall)} moves, wall p50 {statistics.median(wall):.1f} ms, p95 {percentile(wall, 95):.1f} ms; "
        f"CPU p50 {statistics.median(cpu):.1f} ms, p95 {percentile(cpu, 95):.1f} ms"
    )


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--moves", type=int, default=50)
    parser.add_argument("--naive-moves", type=int, default=5, help="moves for the slow SQL path (default 5)")
    parser.add_argument("--db", type=Path, default=None, help="reuse this SQLite file (filled if absent)")
    args = parser.parse_args(argv)
    if args.moves < 1 or args.naive_moves < 1:
        parser.error("--moves and --naive-moves need at least 1 (the ratio compares the two paths)")

    path = args.db or Path(tempfile.mkdtemp()) / "bench_curate.db"
    if not path.exists():
        started = time.perf_counter()
        fill(path, args.pairs)
        print(f"filled {args.pairs:,} pairs in {time.perf_counter() - started:.1f}s ({path})", flush=True)
    engine = connect(f"sqlite:///{path}")

    frames.invalidate(engine)  # no copy in memory or on disk: read the database
    timed_page_load(engine, "cold frame load from the database")
    frames.invalidate()  # a restarted studio: memory empty, disk copy present
    timed_page_load(engine, "restart frame load from the disk copy")
    started = time.perf_counter()
    frames.data_signature(engine)
    print(f"signature check: {(time.perf_counter() - started) * 1000:.1f} ms")

    recipes = random_moves(args.moves, seed=7)
    frame_ms, frame_cpu, frame_counts = timed(frame_move, engine, recipes)
    print(describe("frame", frame_ms, frame_cpu), flush=True)
    naive_ms, naive_cpu, naive_counts = timed(naive_move, engine, recipes[: args.naive_moves])
    if frame_counts[: len(naive_counts)] != naive_counts:
        print(f"MISMATCH: frame survivors {frame_counts[: len(naive_counts)]} != SQL {naive_counts}")
        return 1
    print(describe("naive SQL", naive_ms, naive_cpu))
    print(f"survivor counts agree on the {len(naive_counts)} shared moves")
    p95 = percentile(frame_ms, 95)
    print(f"p95_ms={p95:.1f} speedup_vs_naive={percentile(naive_ms, 95) / p95:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
