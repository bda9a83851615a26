// The step-through viewer: shows step k of a backward pass on a Graphviz SVG laid out once.
// Every text comes from the JSON that trace.page_data() wrote; this file only shows it:
// grad texts and classes on the graph, the list of steps, the detail of the current step.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($("data").textContent);
  const steps = data.steps;
  const last = steps.length;
  const READABLE = 1.1; // CSS px per SVG unit when following a small frame: 11-unit text draws ~14 px tall
  const MIN_TEXT = 11; // px: following zooms out no further than node text this tall on screen
  const MARGIN = 12; // px kept free around the frame

  // ---- the graph: nodes by DOT name (v3, v3op, box0) and the edges into each
  const svg = document.querySelector("#graph svg");
  const scene = svg.querySelector("g.graph");
  const pane = $("graph");
  const nodes = new Map();
  for (const g of svg.querySelectorAll("g.node")) {
    const name = g.querySelector("title").textContent;
    g.dataset.node = name; // the DOT name, kept when the tooltips go
    const info = data.nodes[name];
    const grad = info ? g.querySelectorAll("text")[info.field] : null; // the field page_data names
    nodes.set(name, { g, grad, info, shown: -1 });
  }
  const edgesInto = new Map();
  for (const g of svg.querySelectorAll("g.edge")) {
    const head = g.querySelector("title").textContent.split("->")[1];
    if (!edgesInto.has(head)) edgesInto.set(head, []);
    edgesInto.get(head).push(g);
  }
  for (const t of svg.querySelectorAll("title")) t.remove(); // no "v12" tooltips

  const matrix = scene.transform.baseVal.consolidate()?.matrix ?? svg.createSVGMatrix();
  for (const n of nodes.values()) { // boxes in the SVG's user units (the viewBox's), and room for text
    const b = n.g.getBBox();
    const a = new DOMPoint(b.x, b.y).matrixTransform(matrix);
    n.box = { x0: a.x, y0: a.y, x1: a.x + b.width, y1: a.y + b.height };
    n.centre = { x: a.x + b.width / 2, y: a.y + b.height / 2 };
    n.room = b.width - 6;
  }
  // the smallest zoom at which the smallest node text is MIN_TEXT px tall
  const textHeight = Math.min(...[...svg.querySelectorAll("g.node text")].slice(0, 300).map((t) => t.getBBox().height));
  const minScale = (MIN_TEXT / (textHeight || MIN_TEXT)) * 1.005;

  // ---- the view: centre (x, y) in user units, s CSS px per unit. The SVG keeps its size
  // (1 unit = 1 px) and moves by a CSS transform, which needs no new layout of its texts.
  const whole = svg.viewBox.baseVal;
  function extent() { // the drawing as it is now (a text may overhang its box), in user units
    const b = scene.getBBox(), corner = new DOMPoint(b.x, b.y).matrixTransform(matrix);
    return { x: corner.x + b.width / 2, y: corner.y + b.height / 2, w: b.width, h: b.height };
  }
  const all = extent();
  svg.setAttribute("width", whole.width);
  svg.setAttribute("height", whole.height);
  const view = { x: all.x, y: all.y, s: READABLE };
  let paneSize = { w: pane.clientWidth, h: pane.clientHeight };
  function draw() {
    const tx = paneSize.w / 2 - view.s * (view.x - whole.x), ty = paneSize.h / 2 - view.s * (view.y - whole.y);
    svg.style.transform = `translate(${tx}px, ${ty}px) scale(${view.s})`;
  }
  function zoom(factor, at) { // at: a point in pane pixels that stays put (default: the centre)
    const px = at ? at.x - paneSize.w / 2 : 0, py = at ? at.y - paneSize.h / 2 : 0;
    const s = Math.min(20, Math.max(0.02, view.s * factor));
    view.x += px / view.s - px / s;
    view.y += py / view.s - py / s;
    view.s = s;
    draw();
  }
  function fit() {
    setFollow(false);
    const now = extent();
    view.x = now.x;
    view.y = now.y;
    view.s = Math.min(paneSize.w / now.w, paneSize.h / now.h);
    draw();
  }
  function setFollow(on) {
    $("follow").checked = on;
    if (on) follow();
  }
  // Frame the current node, its operation and every node receiving a term: as large as
  // fits, up to READABLE, and never smaller than minScale (text MIN_TEXT px tall). A frame
  // too large for that keeps the current node in view and as much of the rest as fits.
  function follow() {
    const s = step > 0 ? steps[step - 1] : null;
    const names = s ? [s.node, s.node + "op", ...s.sends.map((t) => t.to)] : [steps[0].node];
    const boxes = names.map((name) => nodes.get(name)).filter(Boolean).map((n) => n.box);
    if (!boxes.length) return;
    const f = {
      x0: Math.min(...boxes.map((b) => b.x0)), y0: Math.min(...boxes.map((b) => b.y0)),
      x1: Math.max(...boxes.map((b) => b.x1)), y1: Math.max(...boxes.map((b) => b.y1)),
    };
    const w = paneSize.w - 2 * MARGIN, h = paneSize.h - 2 * MARGIN;
    view.s = Math.max(minScale, Math.min(READABLE, w / (f.x1 - f.x0), h / (f.y1 - f.y0)));
    const own = boxes[0], half = { x: w / 2 / view.s, y: h / 2 / view.s };
    const clamp = (v, lo, hi) => (lo > hi ? (lo + hi) / 2 : Math.min(hi, Math.max(lo, v)));
    view.x = clamp((f.x0 + f.x1) / 2, own.x1 - half.x, own.x0 + half.x);
    view.y = clamp((f.y0 + f.y1) / 2, own.y1 - half.y, own.y0 + half.y);
    draw();
  }

  // ---- Alg. 1's overview (with layer=): marks the current step's vector; a click goes to its first step
  const overviewNodes = new Map();
  const small = document.querySelector("#overview svg");
  if (small) {
    for (const g of small.querySelectorAll("g.node")) {
      const key = g.id.replace(/^ov-/, "");
      overviewNodes.set(key, g);
      g.addEventListener("click", () => { if (data.overview[key]) { setFollow(true); show(data.overview[key]); } });
    }
    for (const t of small.querySelectorAll("title")) t.remove();
    const caption = document.createElement("span");
    caption.className = "caption";
    caption.textContent = data.text.overview;
    $("overview").prepend(caption);
  }

  // ---- the steps pane
  const list = $("steps");
  const rows = [];
  function row(k, cells) {
    const li = document.createElement("li");
    li.dataset.step = k;
    for (const [cls, text] of cells) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      li.append(span);
    }
    li.tabIndex = -1; // one row at a time is in the Tab order: the current one
    li.addEventListener("click", () => show(k));
    li.addEventListener("keydown", (e) => {
      if (e.key === "Enter") show(k);
    });
    list.append(li);
    rows.push(li);
  }
  const head = document.createElement("li");
  head.className = "head";
  head.setAttribute("aria-hidden", "true");
  for (const [cls, text] of [["num", 0], ["name", 1], ["op", 2], ["grad", 3]]) {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = data.text.columns[text];
    head.append(span);
  }
  list.append(head);
  row(0, [["num", "0"], ["name whole", data.text.step0]]);
  steps.forEach((s, i) => row(i + 1, [["num", String(i + 1)], ["name", s.name], ["op", s.op], ["grad", s.grad]]));
  $("count").textContent = last;
  const rowTop = rows.map((li) => li.offsetTop - list.offsetTop);
  let listHeight = list.clientHeight;

  // ---- the detail pane, built from elements (labels are text, never HTML)
  function el(tag, cls, ...children) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    e.append(...children);
    return e;
  }
  function detail() {
    const box = $("detail");
    box.replaceChildren();
    const T = data.text;
    if (step === 0) {
      box.append(el("h3", "", T.before));
      if (data.problem) {
        box.append(el("p", "", data.problem.head));
        for (const [caption, rows] of data.problem.tables) {
          box.append(el("table", "problem", el("caption", "", caption),
            ...rows.map((r) => el("tr", "", ...r.map((c) => el("td", "math", c))))));
        }
      }
      box.append(...T.intro.map((p) => el("p", "", p)), el("p", "note", T.press));
      return;
    }
    const s = steps[step - 1];
    const title = el("h3", "", s.title);
    if (s.op) title.append(el("span", "op-chip", s.op));
    box.append(title);
    if (s.paper) box.append(el("p", "alg-line", s.paper.line));
    box.append(el("p", "math", s.forward));
    if (s.paper && s.paper.sec3) box.append(paper(s.paper.sec3));
    box.append(el("h4", "", s.received_head));
    const table = el("table", "received", el("tr", "", ...T.table.map((h) => el("th", "", h))));
    for (const t of s.received) table.append(el("tr", "", el("td", "", t.from), el("td", "", t.term), el("td", "", t.sum)));
    table.append(el("tr", "total", el("td", "math", s.grad_of), el("td", "", ""), el("td", "", s.grad)));
    box.append(table, el("h4", "", s.sends_head));
    if (s.leaf) box.append(el("p", "", s.leaf));
    s.sends.forEach((t, j) => {
      const q = practice && question(step, j);
      if (q && !q.done) {
        box.append(ask(t, q));
        return;
      }
      const term = el("div", "term",
        ...[t.chain, t.rule, t.numbers].map((text, i) => el("div", "math", el("span", "label", T.labels[i]), text)),
        el("div", "got", `${t.name} ${T.now_has} ${t.got}`));
      if (q && q.asked) term.prepend(el("div", q.right ? "said right" : "said", q.right ? P.right : P.reveal));
      box.append(term);
    });
    if (step === last) box.append(el("p", "note", T.last));
    const open = box.querySelector(".ask input");
    if (open) open.focus({ preventScroll: true });
  }

  // ---- practice: the page holds back each term until the learner gives its local derivative
  let practice = false;
  const P = data.text.practice;
  const questions = new Map(); // "step/j" -> { done, right, hints, asked }
  const score = { right: 0, asked: 0, hints: 0 };
  function question(k, j) {
    const key = `${k}/${j}`;
    if (!questions.has(key)) {
      questions.set(key, { done: steps[k - 1].sends[j].answer === null, right: false, hints: 0, asked: false });
    }
    return questions.get(key);
  }
  const held = (k) => practice && k > 0 && steps[k - 1].sends.some((_, j) => !question(k, j).done);
  function tally(q) {
    if (!q.asked) score.asked += 1;
    q.asked = true;
    $("score").textContent = P.score.replace("{right}", score.right).replace("{asked}", score.asked)
      .replace("{hints}", score.hints);
  }
  function ask(t, q) {
    const input = el("input", "");
    input.type = "text";
    input.inputMode = "decimal";
    input.autocomplete = "off";
    input.setAttribute("aria-label", t.ask);
    const said = el("div", "said"), hints = el("div", "hints");
    const hint = el("button", "", P.hint);
    const answered = () => { q.done = true; const k = step; show(k); if (!held(k)) $("next").focus(); };
    input.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      const typed = Number(input.value.trim().replace(/−/g, "-").replace(/,/g, "."));
      const [rel, abs] = P.tolerance;
      tally(q);
      if (input.value.trim() !== "" && Math.abs(typed - t.answer) <= Math.max(abs, rel * Math.abs(t.answer))) {
        q.right = true;
        score.right += 1;
        tally(q);
        answered();
      } else {
        said.textContent = P.wrong;
        said.className = "said wrong";
      }
    });
    hint.addEventListener("click", () => {
      q.hints += 1;
      score.hints += 1;
      tally(q);
      hints.append(el("div", "math", `${P.hints[q.hints - 1]}: ${t.hints[q.hints - 1]}`));
      if (q.hints === t.hints.length) answered();
    });
    return el("div", "term ask", el("div", "math", t.ask), el("div", "answer", input, hint), said, hints,
      el("div", "got", P.held));
  }
  function setPractice(on) {
    practice = on;
    $("practice").setAttribute("aria-pressed", String(on));
    $("practice-note").hidden = !on;
    show(step);
  }

  function table(cls, head, rows) {
    return el("table", cls, el("tr", "", ...head.map((h) => el("th", "", h))),
      ...rows.map((r) => el("tr", "", ...r.map((c) => el("td", "", c)))));
  }
  function paper(q) { // Sec. 3's equation with numbers, the closed form beside autodiff, and the paths
    const T = data.text;
    const div = el("div", "paper", el("h4", "", q.title), el("p", "math", q.equation), el("p", "math", q.numbers),
      table("received sec3", T.sec3_head, [[q.closed, q.autodiff, q.difference]]));
    if (q.paths.length) div.append(table("received paths", T.paths_head, q.paths), el("p", "note", q.paths_total));
    return div;
  }

  // ---- one step: texts and classes on the graph, the list, the detail, the hash
  let step = 0;
  function show(k) {
    step = Math.max(0, Math.min(last, Number(k) || 0));
    const current = step > 0 ? steps[step - 1] : null;
    const receiving = new Set(current ? current.sends.map((t) => t.to) : []);
    const changed = [], hold = held(step); // practice holds back this step's terms until answered
    for (const [name, n] of nodes) {
      let cls = "";
      if (n.info) {
        const got = n.info.arrivals.filter((a) => a < step || (a === step && !hold)).length;
        if (got !== n.shown && n.grad) {
          n.grad.textContent = n.info.texts[got];
          changed.push(n);
        }
        n.shown = got;
        cls = got === 0 ? "" : got === n.info.arrivals.length ? "complete" : "partial";
      }
      n.g.classList.toggle("complete", cls === "complete");
      n.g.classList.toggle("partial", cls === "partial");
      n.g.classList.toggle("receiving", receiving.has(name));
      n.g.classList.toggle("current", !!current && current.node === name);
      n.g.classList.toggle("current-op", !!current && current.node + "op" === name);
    }
    fitTexts(changed);
    for (const [head, edges] of edgesInto) {
      for (const e of edges) e.classList.toggle("carrying", !!current && head === current.node + "op");
    }
    const focused = rows.includes(document.activeElement);
    rows.forEach((li, i) => {
      li.classList.toggle("current", i === step);
      li.classList.toggle("done", i < step);
      li.classList.toggle("future", i > step);
      li.tabIndex = i === step ? 0 : -1;
    });
    if (focused) rows[step].focus({ preventScroll: true });
    list.scrollTop = rowTop[step] - (listHeight - (rowTop[1] - rowTop[0])) / 2; // centred, without a layout
    for (const [key, g] of overviewNodes) g.classList.toggle("here", !!current && current.overview === key);
    $("step").textContent = step;
    $("prev").disabled = $("home").disabled = step === 0;
    $("next").disabled = $("end").disabled = step === last;
    detail();
    if ($("follow").checked) follow();
    if (step === last) pause();
    try {
      history.replaceState(null, "", "#step=" + step);
    } catch (err) { // a sandboxed frame (Jupyter) may refuse: the step just is not kept
    }
  }
  function fitTexts(changed) { // squeeze a grad text wider than its box (a font wider than Graphviz's)
    for (const n of changed) n.grad.removeAttribute("textLength");
    const wide = changed.filter((n) => n.room > 0 && n.grad.getComputedTextLength() > n.room); // one layout
    for (const n of wide) {
      n.grad.setAttribute("textLength", n.room);
      n.grad.setAttribute("lengthAdjust", "spacingAndGlyphs");
    }
  }

  // ---- autoplay
  let timer = null;
  function play() {
    if (step === last) show(0);
    timer = setInterval(() => show(step + 1), 1000 / Number($("speed").value));
    $("play").textContent = "‖ pause";
  }
  function pause() {
    clearInterval(timer);
    timer = null;
    $("play").textContent = "▷ play";
  }
  const toggle = () => (timer ? pause() : play());
  $("speed").addEventListener("change", () => { if (timer) { pause(); play(); } });

  // ---- controls, keys, pointer
  $("home").addEventListener("click", () => show(0));
  $("prev").addEventListener("click", () => show(step - 1));
  $("next").addEventListener("click", () => show(step + 1));
  $("end").addEventListener("click", () => show(last));
  $("play").addEventListener("click", toggle);
  $("zoom-in").addEventListener("click", () => zoom(1.25));
  $("zoom-out").addEventListener("click", () => zoom(1 / 1.25));
  $("fit").addEventListener("click", fit);
  $("practice").addEventListener("click", () => setPractice(!practice));
  $("practice-note").textContent = P.on;
  $("follow").addEventListener("change", (e) => setFollow(e.target.checked));
  const keys = {
    ArrowRight: () => show(step + 1),
    ArrowLeft: () => show(step - 1),
    Home: () => show(0),
    End: () => show(last),
    " ": toggle,
    "+": () => zoom(1.25),
    "=": () => zoom(1.25),
    "-": () => zoom(1 / 1.25),
    f: fit,
    c: () => setFollow(!$("follow").checked),
    p: () => setPractice(!practice),
  };
  // keys step whatever has focus, except a field that takes text
  const typing = (t) => t.isContentEditable || t.tagName === "TEXTAREA"
    || (t.tagName === "INPUT" && !["checkbox", "radio", "button", "range"].includes(t.type));
  document.addEventListener("keydown", (e) => {
    const act = keys[e.key.length === 1 ? e.key.toLowerCase() : e.key];
    if (!act || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    e.preventDefault();
    act();
  });
  pane.addEventListener("wheel", (e) => {
    e.preventDefault();
    const r = pane.getBoundingClientRect();
    setFollow(false);
    zoom(Math.exp(-e.deltaY / 500), { x: e.clientX - r.left, y: e.clientY - r.top });
  }, { passive: false });
  let drag = null;
  pane.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY };
    pane.setPointerCapture(e.pointerId);
    pane.classList.add("dragging");
  });
  pane.addEventListener("pointermove", (e) => {
    if (!drag) return;
    if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 2) setFollow(false);
    view.x -= (e.clientX - drag.x) / view.s;
    view.y -= (e.clientY - drag.y) / view.s;
    drag = { x: e.clientX, y: e.clientY };
    draw();
  });
  pane.addEventListener("pointerup", () => { drag = null; pane.classList.remove("dragging"); });

  // ---- a node: a click goes to the step that completes it; hovering shows its name, data and gradient
  const nodeAt = (e) => {
    const g = e.target.closest && e.target.closest("g.node");
    const name = g && g.dataset.node;
    return name ? nodes.get(name.replace(/op$/, "")) || null : null;
  };
  let pressed = null;
  pane.addEventListener("pointerdown", (e) => { pressed = { x: e.clientX, y: e.clientY, n: nodeAt(e) }; });
  pane.addEventListener("pointerup", (e) => { // (the pane holds the pointer while pressed: no click on the node)
    const n = pressed && pressed.n;
    const still = pressed && Math.abs(e.clientX - pressed.x) + Math.abs(e.clientY - pressed.y) <= 3;
    pressed = null;
    if (n && n.info && still) {
      setFollow(true);
      show(n.info.step);
    }
  });
  const tip = $("tip");
  pane.addEventListener("pointermove", (e) => {
    const n = drag ? null : nodeAt(e);
    if (!n || !n.info) {
      tip.hidden = true;
      return;
    }
    tip.replaceChildren(...n.info.tip.map((t) => el("div", "", t)), el("div", "", n.info.texts[Math.max(0, n.shown)]));
    const r = tip.parentElement.getBoundingClientRect();
    tip.style.left = `${Math.min(e.clientX - r.left + 14, r.width - 200)}px`;
    tip.style.top = `${e.clientY - r.top + 16}px`;
    tip.hidden = false;
  });
  pane.addEventListener("pointerleave", () => { tip.hidden = true; });
  const resized = new ResizeObserver(() => {
    paneSize = { w: pane.clientWidth, h: pane.clientHeight };
    listHeight = list.clientHeight;
    if ($("follow").checked) follow();
    else draw();
  });
  resized.observe(pane);
  resized.observe(list);

  // ---- the gutters: drag to give the graph, the steps or the detail more room
  const narrow = matchMedia("(max-width: 1199px)");
  const main = document.querySelector("main"), side = $("side");
  // each gutter: the box whose size it sets, the CSS variable per layout, and its limits
  function gutter(id, box, wide, slim, sign) {
    const g = $(id);
    let from = null;
    g.addEventListener("pointerdown", (e) => {
      g.setPointerCapture(e.pointerId);
      g.classList.add("dragging");
      const r = box().getBoundingClientRect();
      from = { x: e.clientX, y: e.clientY, w: r.width, h: r.height };
    });
    g.addEventListener("pointermove", (e) => {
      if (!from) return;
      const [name, across] = narrow.matches ? slim : wide;
      const size = across ? from.w + sign * (e.clientX - from.x) : from.h + sign * (e.clientY - from.y);
      const whole = g.parentElement.getBoundingClientRect();
      const limit = (across ? whole.width : whole.height) - 120;
      g.parentElement.style.setProperty(name, `${Math.round(Math.min(limit, Math.max(60, size)))}px`);
    });
    g.addEventListener("pointerup", () => { from = null; g.classList.remove("dragging"); });
  }
  // Alg. 1's overview: over the graph when wide; below 1200 px at the top of the detail, leaving the graph its height
  function placeOverview() {
    const ov = $("overview");
    if (narrow.matches) $("detail-pane").insertBefore(ov, $("detail"));
    else pane.parentElement.insertBefore(ov, pane);
  }
  placeOverview();
  narrow.addEventListener("change", placeOverview);
  gutter("gutter-main", () => side, ["--side", true], ["--bottom", false], -1);
  gutter("gutter-side", () => $("steps-pane"), ["--steps", false], ["--steps-w", true], 1);

  const fromHash = () => Number((/step=(\d+)/.exec(location.hash) || [0, 0])[1]);
  window.addEventListener("hashchange", () => { if (fromHash() !== step) show(fromHash()); });
  show(fromHash());
  performance.mark("viewer ready");
})();
