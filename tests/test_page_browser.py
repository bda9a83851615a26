"""The step-through page in a real browser: Debian's Chromium driven by playwright-python.

Playwright's pip package brings no browser (`playwright install` is neither needed nor
possible here): it launches /usr/bin/chromium, which `bash tasks.sh test` installs.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from micrograd_bn import MLP, BatchNorm1d, StepThrough, Value, mse_loss, topological_order
from micrograd_bn.drawing import format_number, node_names
from micrograd_bn.page import NO_GRAD_YET, write_html
from micrograd_bn.trace import backward_steps

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
FLAGS += ["--no-first-run", "--disable-sync", "--disable-quic"]
pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="playwright missing: pip install -e '.[test]'"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} missing: apt-get install chromium"),
]


def bn_loss(batch: int, features: int, seed: int = 0) -> tuple[Value, BatchNorm1d]:
    rng = random.Random(seed)
    layer = BatchNorm1d(features)
    y = layer([[Value(rng.gauss(0, 1), f"x{i}{k}") for k in range(features)] for i in range(batch)])
    loss = Value.dot([v for row in y for v in row], [rng.gauss(0, 1) for _ in range(batch * features)])
    loss.label = "ℓ"
    return loss, layer


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


class Watched:
    """A page (1400×900 unless told) whose requests outside file:// are refused and listed, with its console errors."""

    def __init__(self, browser, width: int = 1400, height: int = 900) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route) -> None:
        if route.request.url.startswith(("file:", "about:", "data:")):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()


@pytest.fixture
def watched(browser):
    w = Watched(browser)
    yield w
    w.context.close()
    assert w.outside == [], "the page asked the network"
    assert w.errors == [], "the console has errors"


@pytest.fixture(scope="module")
def bn_page(tmp_path_factory):
    """BatchNorm with batch 4 and 3 features (97 steps), drawn with Alg. 1's clusters."""
    loss, layer = bn_loss(4, 3)
    steps = list(backward_steps(loss))
    path = write_html(steps, tmp_path_factory.mktemp("page") / "page.html", groups=layer.graph_groups())
    names = node_names(topological_order(loss))
    return path, steps, names


def mlp_loss(seed: int = 0) -> tuple[Value, BatchNorm1d]:
    """A 2-3-1 MLP with BatchNorm1d and tanh on a batch of 4, mean squared error."""
    rng = random.Random(seed)
    net = MLP([2, 3, 1], norm=BatchNorm1d, seed=seed)
    loss = mse_loss(net([[Value(rng.gauss(0, 1)) for _ in range(2)] for _ in range(4)]), [[1.0]] * 4)
    return loss, next(layer for layer in net.layers if isinstance(layer, BatchNorm1d))


@pytest.fixture(scope="module")
def follow_pages(tmp_path_factory):
    """The pages the follow test walks: BatchNorm batch 8 × 3 features (169 steps), and an MLP with BatchNorm."""
    folder = tmp_path_factory.mktemp("follow")
    pages = {}
    for name, (loss, layer) in {"batch 8 × 3": bn_loss(8, 3), "MLP with BatchNorm": mlp_loss()}.items():
        steps = list(backward_steps(loss))
        pages[name] = write_html(steps, folder / f"{len(pages)}.html", groups=layer.graph_groups(), layer=layer)
    return pages


# Every step, by ▶: is the current node, and every node receiving a term, wholly inside the
# graph pane? And how tall, on screen, is the current node's smallest text?
WALK = """() => {
  const pane = document.getElementById("graph").getBoundingClientRect(), next = document.getElementById("next");
  const inside = (r) => r.left >= pane.left - 0.5 && r.right <= pane.right + 0.5
    && r.top >= pane.top - 0.5 && r.bottom <= pane.bottom + 0.5;
  const out = [];
  while (!next.disabled) {
    next.click();
    const framed = [...document.querySelectorAll("#graph g.node.current, #graph g.node.receiving")];
    const texts = [...document.querySelectorAll("#graph g.node.current text")];
    out.push([framed.every((g) => inside(g.getBoundingClientRect())),
              Math.min(...texts.map((t) => t.getBoundingClientRect().height))]);
  }
  return out;
}"""


@pytest.mark.parametrize("size", [(1400, 900), (1024, 700)], ids=["1400x900", "1024x700"])
def test_follow_frames_each_step_and_the_nodes_receiving_its_terms_readably(browser, follow_pages, size):
    w = Watched(browser, *size)
    try:
        for name, path in follow_pages.items():
            w.page.goto(path.as_uri())
            walk = w.page.evaluate(WALK)
            framed = sum(ok for ok, _ in walk) / len(walk)
            assert framed >= 0.95, f"{name} at {size}: {framed:.1%} of {len(walk)} steps framed"
            assert min(height for _, height in walk) >= 11, name  # text readable at the follow zoom
    finally:
        w.context.close()
    assert w.outside == [] and w.errors == []


def test_the_graph_gets_most_of_the_width_and_the_gutters_resize_the_panes(browser, bn_page):
    path, _, _ = bn_page
    for width, height in [(1024, 700), (1400, 900)]:
        w = Watched(browser, width, height)
        page = w.page
        page.goto(path.as_uri())
        graph, detail = page.locator("#graph").bounding_box(), page.locator("#detail-pane").bounding_box()
        assert graph["width"] >= (0.95 if width < 1200 else 0.7) * width
        if width < 1200:  # stacked: the steps and the detail under the graph
            assert detail["y"] >= graph["y"] + graph["height"]
        gutter = page.locator("#gutter-main").bounding_box()
        x, y = gutter["x"] + gutter["width"] / 2, gutter["y"] + gutter["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x - 100, y - 100, steps=3)
        page.mouse.up()
        after = page.locator("#graph").bounding_box()
        grown = after["height"] - graph["height"] if width < 1200 else after["width"] - graph["width"]
        assert grown == pytest.approx(-100, abs=2)  # the gutter moved: the graph pane gave up 100 px
        w.context.close()
        assert w.errors == []


def step_shown(page) -> int:
    return int(page.text_content("#step"))


def current_node(page) -> str:
    return page.eval_on_selector_all("#graph g.node.current", "gs => gs.map(g => g.dataset.node)")


def grad_texts(page) -> dict[str, str]:
    """{DOT node: the grad text on the graph} for every record: the field page_data names."""
    return page.evaluate(
        """() => {
             const nodes = JSON.parse(document.getElementById('data').textContent).nodes;
             return Object.fromEntries([...document.querySelectorAll('#graph g.node')].flatMap(g => {
               const info = nodes[g.dataset.node];
               return info ? [[g.dataset.node, g.querySelectorAll('text')[info.field].textContent]] : [];
             }));
           }"""
    )


def expected_grad_texts(steps, names, upto: int) -> dict[str, str]:
    """What every record should read after `upto` steps, from backward_steps() alone."""
    terms = {id(steps[0].node): [1.0]}  # the seed ∂ℓ/∂ℓ = 1
    uses = {id(steps[0].node): 1}
    for s in steps:
        for t in s.terms:
            uses[id(t.input)] = uses.get(id(t.input), 0) + 1
            if s.number <= upto:
                terms.setdefault(id(t.input), []).append(t.contribution)
    out = {}
    for s in steps:
        got, n = terms.get(id(s.node), []), uses[id(s.node)]
        total = 0.0
        for term in got:
            total += term
        text = f"grad {format_number(total, 4)}"
        out[names[id(s.node)]] = NO_GRAD_YET if not got else text if len(got) == n else f"{text} · {len(got)}/{n}"
    return out


def inside(page, selector: str, container: str) -> bool:
    """Whether the element's box lies inside the container's, on screen."""
    a, b = page.locator(selector).bounding_box(), page.locator(container).bounding_box()
    return (
        b["x"] <= a["x"]
        and a["x"] + a["width"] <= b["x"] + b["width"] + 0.5
        and (b["y"] <= a["y"] and a["y"] + a["height"] <= b["y"] + b["height"] + 0.5)
    )


def test_keys_and_clicks_step_through(bn_page, watched):
    path, steps, names = bn_page
    page = watched.page
    page.goto(path.as_uri())
    assert step_shown(page) == 0 and page.is_disabled("#prev") and current_node(page) == []
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert step_shown(page) == 3 and current_node(page) == [names[id(steps[2].node)]]
    page.click("#prev")
    assert step_shown(page) == 2 and current_node(page) == [names[id(steps[1].node)]]
    page.click("#next")
    page.click("#next")
    assert step_shown(page) == 4
    page.click('#steps li[data-step="40"]')
    assert step_shown(page) == 40 and current_node(page) == [names[id(steps[39].node)]]
    assert page.get_attribute('#steps li[data-step="40"]', "class").split() == ["current"]
    page.keyboard.press("ArrowLeft")
    assert step_shown(page) == 39 and page.text_content("#steps li.current .num") == "39"
    page.keyboard.press("End")
    assert inside(page, "#steps li.current", "#steps")  # the list keeps the current step in view


def test_a_node_click_goes_to_its_step_and_hovering_shows_it(bn_page, watched):
    path, steps, names = bn_page
    page = watched.page
    page.goto(f"{path.as_uri()}#step=40")
    number = {names[id(s.node)]: s.number for s in steps}
    receiver = page.eval_on_selector("#graph g.node.receiving", "g => g.dataset.node")
    page.hover("#graph g.node.current")
    tip = page.text_content("#tip")
    s = steps[39]
    assert page.is_visible("#tip") and s.node.label in tip and f"data {format_number(s.node.data, 4)}" in tip
    assert f"grad {format_number(s.grad, 4)}" in tip  # its gradient as the page shows it now
    page.click("#graph g.node.receiving >> nth=0")
    assert step_shown(page) == number[receiver] and current_node(page) == [receiver]
    page.click("#graph g.node.current")  # a click, not a drag: the step stays
    assert step_shown(page) == number[receiver]


def test_step_rows_take_focus_and_arrows_step_from_anywhere_but_a_text_field(bn_page, watched):
    path = bn_page[0]
    page = watched.page
    page.goto(f"{path.as_uri()}#step=5")
    head = page.eval_on_selector_all("#steps li.head span", "ss => ss.map(s => s.textContent)")
    assert head == ["step", "node", "op", "∂ℓ/∂node"]
    assert page.get_attribute('#steps li[data-step="5"]', "tabindex") == "0"  # the current row is in the Tab order
    assert page.get_attribute('#steps li[data-step="6"]', "tabindex") == "-1"
    hidden = page.eval_on_selector('#steps li[data-step="6"] .grad', "g => getComputedStyle(g).visibility")
    assert hidden == "hidden" and "future" in page.get_attribute('#steps li[data-step="6"]', "class")
    assert "done" in page.get_attribute('#steps li[data-step="4"]', "class")
    page.focus('#steps li[data-step="5"]')
    page.keyboard.press("ArrowRight")
    assert step_shown(page) == 6 and page.evaluate("document.activeElement.dataset.step") == "6"
    page.focus("#speed")
    page.keyboard.press("ArrowRight")
    assert step_shown(page) == 7 and page.input_value("#speed") == "1"  # stepped; the speed kept
    page.focus("#follow")
    page.keyboard.press("ArrowLeft")
    assert step_shown(page) == 6
    page.evaluate("""() => { const t = document.createElement('input'); t.id = 'typed';
                             document.body.append(t); }""")
    page.focus("#typed")
    page.keyboard.press("ArrowLeft")
    assert step_shown(page) == 6  # a text field keeps its arrows


def test_the_paper_beside_autodiff_in_the_detail(watched, tmp_path):
    loss, layer = bn_loss(3, 1)
    steps = list(backward_steps(loss))
    path = write_html(steps, tmp_path / "paper.html", groups=layer.graph_groups(), layer=layer)
    page = watched.page
    page.goto(path.as_uri())
    assert page.locator("table.problem").count() == 2  # step 0 states the problem: x and dy
    n = layer.last[0]
    k = next(s.number for s in steps if s.node is n.x[0])
    page.goto(f"{path.as_uri()}#step={k}")
    assert "Alg. 1 input" in page.text_content(".alg-line")
    paths = page.eval_on_selector_all("table.paths tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert len(paths) == 4 and [row[0] for row in paths[1:]] == [
        f"through {n.x_hat[0].label} directly",
        f"through {n.var.label}",
        f"through {n.mean.label}",
    ]
    closed, auto, _ = page.eval_on_selector("table.sec3 tr:last-child", "r => [...r.cells].map(c => c.textContent)")
    assert closed == auto == format_number(steps[k - 1].grad, 4)
    assert page.eval_on_selector_all("#overview g.node.here", "gs => gs.map(g => g.id)") == ["ov-x"]
    page.click("#overview #ov-x_hat")  # the overview jumps the scalar graph to x̂'s first step
    first = next(s.number for s in steps if any(s.node is v for v in n.x_hat))
    assert step_shown(page) == first and page.eval_on_selector("#overview g.node.here", "g => g.id") == "ov-x_hat"


def test_practice_holds_each_term_back_until_answered_by_keyboard(bn_page, watched):
    path, steps, names = bn_page
    page = watched.page
    page.goto(f"{path.as_uri()}#step=1")
    page.keyboard.press("p")
    assert page.get_attribute("#practice", "aria-pressed") == "true" and page.is_visible("#practice-note")
    assert page.evaluate("document.activeElement.tagName") == "INPUT"  # step 1's first question has the focus
    s = steps[1]  # step 2: y₁ = γx̂₁ + β sends two terms, each held back
    page.click("#next")  # ▶ moves on, leaving step 1's questions open
    assert step_shown(page) == 2 and page.locator(".ask").count() == 2
    held = grad_texts(page)
    assert held == expected_grad_texts(steps, names, 1)  # the graph waits: no term of step 2 has arrived
    assert page.evaluate("document.activeElement.tagName") == "INPUT"  # the answer field has the focus
    page.keyboard.type("12345")
    page.keyboard.press("ArrowLeft")  # in the text field, arrows edit the answer
    page.keyboard.press("Enter")
    assert step_shown(page) == 2 and "Not yet" in page.text_content(".said.wrong")
    page.keyboard.press("Control+a")
    page.keyboard.type(format_number(s.terms[0].local_grad, 4))
    page.keyboard.press("Enter")
    assert page.locator(".ask").count() == 1 and "Right." in page.text_content(".said.right")
    page.keyboard.press("Tab")  # to the hint button: the rule, the rule with its numbers, the answer
    for _ in range(3):
        page.keyboard.press("Enter")
    assert page.locator(".ask").count() == 0
    assert grad_texts(page) == expected_grad_texts(steps, names, 2)  # both terms shown: the graph moves on
    assert page.text_content("#score") == "1 right of 2 asked, 3 hints"
    page.keyboard.press("ArrowRight")  # the focus left the field: arrows step again
    assert step_shown(page) == 3


@pytest.mark.parametrize("k", [1, 45, 97])
def test_graph_and_detail_show_backward_steps_numbers(bn_page, watched, k):
    path, steps, names = bn_page
    page = watched.page
    page.goto(f"{path.as_uri()}#step={k}")
    assert step_shown(page) == k
    assert grad_texts(page) == expected_grad_texts(steps, names, k)
    s = steps[k - 1]
    f = lambda x: format_number(x, 4)  # noqa: E731
    shown = page.eval_on_selector_all(
        ".term", "ts => ts.map(t => [...t.querySelectorAll('.math')].map(m => m.lastChild.textContent))"
    )
    assert [numbers for _, _, numbers in shown] == [
        f"{f(t.local_grad)} × {f(s.grad)} = {f(t.contribution)}" for t in s.terms
    ]
    assert all(chain.startswith("∂ℓ/∂") and " += " in chain for chain, _, _ in shown)
    sums = page.eval_on_selector_all("table.received tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert sums[-1][-1] == f(s.grad)  # the total row: the step's gradient
    assert len(sums) == 2 + sum(t.input is s.node for u in steps[: k - 1] for t in u.terms) + (k == 1)


@pytest.mark.parametrize("k", [2, 48, 96])
def test_the_current_node_is_in_view_and_readable(bn_page, watched, k):
    path, _, _ = bn_page
    page = watched.page
    page.goto(f"{path.as_uri()}#step={k - 1}")
    page.keyboard.press("ArrowRight")  # the view follows the step
    assert step_shown(page) == k
    assert inside(page, "#graph g.node.current", "#graph")
    heights = page.eval_on_selector_all(
        "#graph g.node.current text", "ts => ts.map(t => t.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 11


def test_zoom_pan_and_fit_change_the_view(bn_page, watched):
    path, _, _ = bn_page
    page = watched.page
    page.goto(f"{path.as_uri()}#step=10")
    width = lambda: page.locator("#graph g.node.current").bounding_box()["width"]  # noqa: E731
    before = width()
    page.click("#zoom-in")
    assert width() == pytest.approx(before * 1.25, rel=0.02)
    page.keyboard.press("-")
    page.keyboard.press("-")
    assert width() == pytest.approx(before / 1.25, rel=0.02)
    page.mouse.move(700, 450)
    page.mouse.wheel(0, -300)
    assert width() > before / 1.25 * 1.2 and not page.is_checked("#follow")  # the wheel zooms where you point
    x = page.locator("#graph g.node.current").bounding_box()["x"]
    page.mouse.move(700, 450)
    page.mouse.down()
    page.mouse.move(600, 450, steps=4)
    page.mouse.up()
    assert page.locator("#graph g.node.current").bounding_box()["x"] == pytest.approx(x - 100, abs=2)
    page.click("#fit")
    pane = page.locator("#graph").bounding_box()
    whole = page.locator("#graph svg g.graph").bounding_box()
    # (3 px: the current node's thick outline may stand out of the drawing's box)
    assert whole["width"] <= pane["width"] + 3 and whole["height"] <= pane["height"] + 3
    assert whole["width"] >= pane["width"] - 1 or whole["height"] >= pane["height"] - 1  # as large as fits
    page.check("#follow")  # following again: the step and the nodes receiving its terms in view
    assert inside(page, "#graph g.node.current", "#graph")
    for k in range(page.locator("#graph g.node.receiving").count()):
        assert inside(page, f"#graph g.node.receiving >> nth={k}", "#graph")


def test_home_end_and_the_hash(bn_page, watched):
    path, steps, names = bn_page
    page = watched.page
    page.goto(f"{path.as_uri()}#step=5")
    assert step_shown(page) == 5
    pane = page.locator("#graph").bounding_box()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("location.hash") == "#step=6"
    page.keyboard.press("End")
    assert step_shown(page) == len(steps) and page.is_disabled("#next") and page.is_disabled("#end")
    assert page.evaluate("location.hash") == f"#step={len(steps)}"
    assert NO_GRAD_YET not in grad_texts(page).values()
    assert page.locator("#graph").bounding_box() == pane  # the texts grew, the graph pane did not move
    page.reload()
    assert step_shown(page) == len(steps)  # the hash keeps the step
    page.click("#home")
    assert step_shown(page) == 0 and page.evaluate("location.hash") == "#step=0"
    texts = grad_texts(page)
    assert texts.pop(names[id(steps[0].node)]) == "grad 1"  # the seed
    assert set(texts.values()) == {NO_GRAD_YET}
    page.keyboard.press("End")
    page.keyboard.press("Home")
    assert step_shown(page) == 0


def test_autoplay_steps_on_its_own_and_pauses(bn_page, watched):
    path, _, _ = bn_page
    page = watched.page
    page.goto(path.as_uri())
    page.select_option("#speed", "20")
    page.click("#play")
    page.wait_for_function("Number(document.getElementById('step').textContent) >= 3")
    page.keyboard.press(" ")
    paused = step_shown(page)
    page.wait_for_timeout(200)
    assert step_shown(page) == paused and page.text_content("#play").endswith("play")


def test_the_watch_sees_network_requests_and_console_errors(browser, tmp_path):
    w = Watched(browser)
    bad = tmp_path / "bad.html"
    bad.write_text('<img src="http://example.invalid/a.png"><script>console.error("boom")</script>')
    w.page.goto(bad.as_uri())
    w.page.wait_for_timeout(100)
    w.context.close()
    assert w.outside == ["http://example.invalid/a.png"] and "boom" in w.errors


def test_step_through_in_a_notebook_steps_without_a_kernel(watched, tmp_path):
    loss, layer = bn_loss(3, 1)
    x = Value(2.0, "x")
    notebook = tmp_path / "notebook.html"  # two outputs in one page, as Jupyter shows them
    cells = [StepThrough(loss, groups=layer.graph_groups(), height=600), StepThrough(x * x, height=400)]
    notebook.write_text("<!DOCTYPE html><meta charset='utf-8'>" + "".join(c._repr_html_() for c in cells))
    page = watched.page
    page.goto(notebook.as_uri())
    first, second = page.frame_locator("iframe").nth(0), page.frame_locator("iframe").nth(1)
    first.locator("#next").click()
    first.locator("#next").click()
    first.locator("#graph").press("ArrowRight")
    assert first.locator("#step").text_content() == "3"
    assert first.locator("#count").text_content() == str(len(cells[0].steps))
    assert second.locator("#step").text_content() == "0"  # its own script, its own step
    second.locator("#end").click()
    assert second.locator("#step").text_content() == "2" and first.locator("#step").text_content() == "3"
    assert second.locator("#graph g.node.current").count() == 1
