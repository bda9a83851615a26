"""How big the step-through page is, and how fast it loads and steps in Chromium, measured inside the page.

Writes the page for BatchNorm (`micrograd-bn graph`'s graph: Alg. 1's clusters) for each
--features (default 3 and 18 with batch 8: 169 and 1,009 steps) and opens it in Debian's
Chromium at 1400×900 with playwright-python. Size: the HTML file. Time to interactive: from
navigation start to the viewer's "viewer ready" mark (the SVG parsed, every pane built, step 0
shown, the keys live). Step: performance.now() around a click on ▶ and the style and layout it
forces, then the next painted frame, over every step of the pass. Medians of `--rounds` loads.

    .venv/bin/python benchmarks/page_timing.py                   # 169 and 1,009 steps
    .venv/bin/python benchmarks/page_timing.py --batch 4 --features 3   # the 97-step page
    .venv/bin/python benchmarks/page_timing.py --screenshot docs/step_through.png --at 60 --batch 4
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from micrograd_bn.cli import _batchnorm_loss
from micrograd_bn.page import write_html
from micrograd_bn.trace import backward_steps

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
FLAGS += ["--no-first-run", "--disable-sync"]

STEP_ALL = """async () => {  // per step: [click + style + layout, until the next frame is painted], in ms
  const next = document.getElementById("next"), out = [];
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  while (!next.disabled) {
    const t0 = performance.now();
    next.click();
    document.querySelector("#graph svg").getBoundingClientRect();  // force style and layout now
    const t1 = performance.now();
    await frame();
    out.push([t1 - t0, performance.now() - t0]);
  }
  return out;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--features", type=int, nargs="+", default=[3, 18], help="one page each (default 3 18)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--max-nodes", type=int, default=10_000, help="draw()'s budget (a 1,000-step page needs ~2,000)"
    )
    parser.add_argument("--screenshot", help="instead: save a 1400×900 screenshot of the first page at step --at")
    parser.add_argument("--at", type=int, default=60, help="the step the screenshot shows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for features in args.features[:1] if args.screenshot else args.features:
            loss, layer, _, _ = _batchnorm_loss(args.batch, features, 0)
            steps = list(backward_steps(loss))
            path = write_html(
                steps, Path(tmp) / "page.html", groups=layer.graph_groups(), layer=layer, max_nodes=args.max_nodes
            )
            if args.screenshot:
                page.goto(f"{path.as_uri()}#step={args.at}")
                page.screenshot(path=args.screenshot)
                print(f"wrote {args.screenshot} (step {args.at} of {len(steps)})")
                break
            measure(page, path, args.rounds, f"BatchNorm, batch {args.batch} × {features} features: {len(steps)} steps")
        browser.close()


def measure(page: Page, path: Path, rounds: int, what: str) -> None:
    """Print the page's size, its median time to interactive and step times over `rounds` loads."""
    loads, work, frames = [], [], []
    for _ in range(rounds):
        page.goto(path.as_uri())
        loads.append(page.evaluate("performance.getEntriesByName('viewer ready')[0].startTime"))
        for w, f in page.evaluate(STEP_ALL):
            work.append(w)
            frames.append(f)
    print(f"{what}, page {path.stat().st_size / 1024:.0f} kB")
    print(f"  time to interactive (to 'viewer ready'), median of {rounds}: {statistics.median(loads):.0f} ms")
    print(f"  step (click, style, layout), median of {len(work)}: {statistics.median(work):.1f} ms")
    print(f"  step until the next frame is painted, median: {statistics.median(frames):.1f} ms")


if __name__ == "__main__":
    main()
