"""How long the studio's own wiring takes on a big database: one Curate threshold move through
``ui.curate.curate_view`` (frame + summary + one page + the HTML/SVG the page shows), and the page load
over HTTP (``GET /`` plus the Curate page's load event through gradio_client, cold and warm).

    .venv/bin/python -m tests.ui.bench_wiring [--pairs 1000000] [--moves 30] [--db PATH]

Not a test (pytest does not collect it). Uses ``benchmarks/bench_curate.py``'s synthetic database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.bench_curate import fill, random_moves  # noqa: E402
from curation import frame as frames  # noqa: E402
from db import connect  # noqa: E402
from tests.ui.studio import running_studio  # noqa: E402
from ui.context import AppContext  # noqa: E402
from ui.curate import curate_view  # noqa: E402


def browser_load_s(address: str) -> float:
    """Seconds from navigation until the Curate page shows its survivor count, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
        page = browser.new_page()
        started = time.perf_counter()
        page.goto(address)
        page.get_by_role("tab", name="Curate").click()
        page.wait_for_function("document.querySelector('#curate-count')?.innerText.includes('survive')")
        elapsed = time.perf_counter() - started
        browser.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--moves", type=int, default=30)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args(argv)
    path = args.db or Path(tempfile.mkdtemp()) / "bench_studio.db"
    if not path.exists():
        started = time.perf_counter()
        fill(path, args.pairs)
        print(f"filled {args.pairs:,} pairs in {time.perf_counter() - started:.1f}s")
    url = f"sqlite:///{path}"
    engine = connect(url)
    ctx = AppContext(db_url=url, engine=engine, export_dir=Path(tempfile.mkdtemp()) / "exports")

    from gradio_client import Client

    frames.invalidate(engine)
    with running_studio(ctx, worker=False) as address:
        for label in ("cold (frame not in memory)", "warm"):
            started = time.perf_counter()
            urllib.request.urlopen(address).read()
            fetched = time.perf_counter()
            client = Client(address, verbose=False)
            connected = time.perf_counter()
            client.predict("paraphrase", "kept", "id", api_name="/load_curate")
            done = time.perf_counter()
            print(
                f"page load, {label}: GET / {fetched - started:.2f}s + Curate load event {done - connected:.2f}s "
                f"(gradio_client setup {connected - fetched:.2f}s is not part of a browser load)"
            )
        if Path("/usr/bin/chromium").exists():
            print(
                f"page load in headless Chromium, warm frame: {browser_load_s(address):.2f}s (to the survivor count)"
            )

    times = []
    for recipe in random_moves(args.moves, seed=1):
        started = time.perf_counter()
        curate_view(ctx, recipe, "kept", "id", 1)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print(
        f"curate_view per threshold move over {args.moves} moves: p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
