"""How fast does the studio open? Its first render in headless Chromium against a one-component Gradio
page served the same way, in the same run; then the data side of a page load and one Curate threshold
move through the page's own handler (``ui.curate.curate_view``) on a big synthetic database.

* first render: from navigation until the studio's front page (Overview) shows the database's counts and
  the job worker's state line, which its page-load event fills in, so the number includes the layout,
  the page-load request and its answer. Each other route (Generate, Curate, Train; ``ui.ROUTES``) is its
  own browser page; its first render (until its first tab's page-load data shows) is timed the same way
  and printed beside it, so the cost of opening each page is on record too.
  The reference is a ``gr.Blocks`` holding one ``gr.Markdown``, launched with the studio's launch options
  (theme, css, head script), timed from navigation until its text shows. Both pages are opened
  ``--renders`` times, interleaved, each in a fresh browser context (nothing cached); medians are compared.
* data side: ``GET /`` plus the Curate page's load event through gradio_client, cold and warm.

    .venv/bin/python benchmarks/bench_studio.py [--pairs 1000000] [--moves 30] [--renders 5] [--db PATH]

The last line is ``render_ratio=<studio median / one-component median>``. Uses ``bench_curate.py``'s
synthetic database.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_curate import fill, random_moves  # noqa: E402
from curation import frame as frames  # noqa: E402
from db import connect  # noqa: E402
from tests.ui.studio import free_port, running_studio  # noqa: E402
from ui import launch_options  # noqa: E402
from ui.context import AppContext  # noqa: E402
from ui.curate import curate_view  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: What "rendered" means on each page (JavaScript evaluated until true).
STUDIO_READY = """(() =>
  (document.querySelector('#overview-counts')?.innerText || '').includes('candidate pairs')
  && (document.querySelector('#worker-status')?.innerText || '').includes('worker'))()"""
#: Each route's path and when its first tab has rendered with its page-load data.
ROUTE_READY = {
    "generate": """(() => {
  const command = document.querySelector('#generate-command');
  const shown = (command?.innerText || '') + (command?.querySelector('textarea')?.value || '');
  return shown.includes('impossible generate')
    && (document.querySelector('#worker-status')?.innerText || '').includes('worker');
})()""",
    "curate": "(document.querySelector('#curate-count')?.innerText || '').includes('survive')",
    # the command, or the hint to save a version first when there is none
    "train": "(document.querySelector('#train-command')?.innerText || '').includes('train')",
}
REFERENCE_READY = "document.querySelector('#reference-text')?.innerText.includes('one component')"


@contextmanager
def one_component_page(ctx: AppContext) -> Iterator[str]:
    """A Gradio page with a single Markdown, launched like the studio; yield its URL."""
    import gradio as gr

    with gr.Blocks(title="reference") as page:
        gr.Markdown("A page with one component.", elem_id="reference-text")
    port = free_port()
    page.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options(ctx)
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        page.close()


def render_s(browser, address: str, ready: str) -> float:
    """Seconds from navigation until ``ready`` holds, in a fresh browser context (empty cache)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(address)
    page.wait_for_function(ready, timeout=120_000, polling=20)
    elapsed = time.perf_counter() - started
    context.close()
    return elapsed


def first_render(ctx: AppContext, renders: int) -> float:
    """Open the studio and the one-component page ``renders`` times each, interleaved; print both; return
    the ratio of the medians."""
    from playwright.sync_api import sync_playwright

    studio, reference = [], []
    routes: dict[str, list[float]] = {path: [] for path in ROUTE_READY}
    with (
        running_studio(ctx, worker=False) as studio_url,
        one_component_page(ctx) as reference_url,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        render_s(browser, studio_url, STUDIO_READY)  # warm-up: Python imports, first requests
        render_s(browser, reference_url, REFERENCE_READY)
        for path, ready in ROUTE_READY.items():
            render_s(browser, studio_url + path, ready)
        for _ in range(renders):
            studio.append(render_s(browser, studio_url, STUDIO_READY))
            reference.append(render_s(browser, reference_url, REFERENCE_READY))
            for path, ready in ROUTE_READY.items():
                routes[path].append(render_s(browser, studio_url + path, ready))
        browser.close()
    s, r = statistics.median(studio), statistics.median(reference)
    print(f"first render, one-component page: median {r:.2f}s ({', '.join(f'{t:.2f}' for t in reference)})")
    for path, times in routes.items():
        m = statistics.median(times)
        print(
            f"first render, /{path} page: median {m:.2f}s = {m / r:.2f}x ({', '.join(f'{t:.2f}' for t in times)})"
        )
    print(f"first render, studio (Overview): median {s:.2f}s ({', '.join(f'{t:.2f}' for t in studio)})")
    return s / r


def data_side(ctx: AppContext) -> None:
    """``GET /`` and the Curate load event through gradio_client, with the score arrays cold and warm."""
    from gradio_client import Client

    frames.invalidate(ctx.engine)
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


def threshold_moves(ctx: AppContext, moves: int) -> None:
    times = []
    for recipe in random_moves(moves, seed=1):
        started = time.perf_counter()
        curate_view(ctx, recipe, "kept", "id", 1)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    print(
        f"curate_view per threshold move over {moves} moves: p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--moves", type=int, default=30)
    parser.add_argument("--renders", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is missing (apt-get install -y chromium)", file=sys.stderr)
        return 2
    path = args.db or Path(tempfile.mkdtemp()) / "bench_studio.db"
    if not path.exists():
        started = time.perf_counter()
        fill(path, args.pairs)
        print(f"filled {args.pairs:,} pairs in {time.perf_counter() - started:.1f}s")
    url = f"sqlite:///{path}"
    engine = connect(url)
    ctx = AppContext(db_url=url, engine=engine, export_dir=Path(tempfile.mkdtemp()) / "exports")
    data_side(ctx)
    if args.moves:
        threshold_moves(ctx, args.moves)
    frames.get_frame(engine)  # as app.py does: the score arrays load while the server starts
    ratio = first_render(ctx, args.renders)
    print(f"render_ratio={ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
