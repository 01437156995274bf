// sam ui: the page behind `sam ui`. Plain JavaScript, no build step; charts by uPlot (vendor/uplot).
// Everything shown comes from the JSON API (see the ui package documentation); text from the run
// folders is always set as text, never as HTML.
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

// window.samUI lets tests (and curious people) see what the page drew.
const samUI = (window.samUI = { page: "", ready: false, charts: [], renders: 0, events: 0 });

const state = {
  runs: [], sweeps: [], status: null,
  selected: new Set(JSON.parse(localStorage.getItem("sam.selected") || "[]")),
  colors: new Map(),
  sort: { key: "id", dir: 1 },
  filter: "", kind: "all",
  x: localStorage.getItem("sam.x") || "step",
  smooth: Number(localStorage.getItem("sam.smooth") || 0),
  logy: localStorage.getItem("sam.logy") === "1",
  densityLog: true,
  compare: new Set(),
  connected: false,
};

// ---- helpers ----

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "checked" || k === "value") e[k] = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat()) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function api(path) {
  const r = await fetch(path, { cache: "no-store" });
  let body = null;
  try { body = await r.json(); } catch (e) { throw new Error(path + ": not JSON (" + r.status + ")"); }
  if (!r.ok) throw new Error(body && body.error ? body.error : path + ": " + r.status);
  return body;
}

const enc = encodeURIComponent;
const runURL = (id, what) => "/api/runs/" + enc(id) + (what ? "/" + what : "");

function num(v, digits) {
  if (v == null || !isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(digits || 4)).toString();
}
const pct = (v) => (v == null ? "–" : (100 * v).toFixed(2) + "%");
const pm = (m, s, f) => (m == null ? "–" : f(m) + " ± " + f(s));
const secs = (v) => (v == null ? "–" : v < 10 ? v.toFixed(2) + " s" : v < 60 ? v.toFixed(1) + " s" : v < 3600 ? (v / 60).toFixed(1) + " min" : (v / 3600).toFixed(2) + " h");

function colorOf(id) {
  if (!state.colors.has(id)) state.colors.set(id, PALETTE[state.colors.size % PALETTE.length]);
  return state.colors.get(id);
}

function badge(status) {
  return el("span", { class: "badge " + status, text: status });
}

function problemsCell(ps) {
  if (!ps || ps.length === 0) return el("td");
  return el("td", { class: "warn", title: ps.join("\n"), text: "⚠ " + ps[0] + (ps.length > 1 ? " (+" + (ps.length - 1) + ")" : "") });
}

function saveSelected() {
  localStorage.setItem("sam.selected", JSON.stringify([...state.selected]));
}

function route() {
  const h = location.hash.replace(/^#\/?/, "");
  const [p, q] = h.split("?");
  const parts = p.split("/");
  return { page: parts[0] || "runs", arg: parts.length > 1 ? decodeURIComponent(parts.slice(1).join("/")) : "", query: new URLSearchParams(q || "") };
}

// ---- data ----

async function refreshLists() {
  const [runs, sweeps, status] = await Promise.all([api("/api/runs"), api("/api/sweeps"), api("/api/status")]);
  state.runs = runs;
  state.sweeps = sweeps;
  state.status = status;
  const live = runs.filter((r) => r.live).length;
  document.getElementById("status").textContent =
    runs.length + " runs, " + sweeps.length + " sweeps" + (live ? ", " + live + " live" : "") +
    " · " + status.dirs.map((d) => d.path).join(", ") +
    " · live updates " + (state.connected ? "on" : "off");
  const pb = document.getElementById("problems");
  pb.hidden = status.problems.length === 0;
  pb.textContent = status.problems.join("; ");
}

// ---- charts ----

const charts = [];

function clearCharts() {
  for (const c of charts) c.u.destroy();
  charts.length = 0;
  samUI.charts = [];
}

// chart draws one uPlot: data is uPlot's aligned [xs, ys...], series its series options.
function chart(parent, title, data, series, opts) {
  const box = el("div", { class: "chart" + (opts && opts.wide ? " wide" : ""), "data-title": title }, el("div", { class: "title", text: title }));
  parent.append(box);
  const width = Math.max(320, box.clientWidth - 14);
  const o = Object.assign({
    width, height: 260,
    scales: { x: { time: false } },
    axes: [{ label: opts && opts.xlabel }, { size: 60, values: (u, vals) => vals.map((v) => num(v, 3)) }],
    series: [{ label: (opts && opts.xlabel) || "x" }].concat(series),
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
  }, opts && opts.uplot);
  if (opts && opts.ylog) o.scales.y = { distr: 3, log: 10 };
  const u = new uPlot(o, data, box);
  charts.push({ u, box });
  samUI.charts.push({ title, u, series: series.map((s) => s.label) });
  return u;
}

window.addEventListener("resize", () => {
  for (const c of charts) c.u.setSize({ width: Math.max(320, c.box.clientWidth - 14), height: c.u.height });
});

// smooth is TensorBoard's debiased exponential moving average; nulls stay null.
function smooth(ys, w) {
  if (!w) return ys;
  let last = 0, n = 0;
  return ys.map((y) => {
    if (y == null || !isFinite(y)) return y;
    last = last * w + (1 - w) * y;
    n++;
    return last / (1 - Math.pow(w, n));
  });
}

// ---- Runs page ----

const COLS = [
  ["id", "run"], ["kind", "kind"], ["status", "status"], ["data", "data"], ["model", "model"],
  ["optimizer", "opt"], ["variant", "variant"], ["rho", "ρ"], ["lr", "lr"], ["seed", "seed"],
  ["epochs", "epochs"], ["steps", "steps"], ["train_loss", "train loss"], ["val_acc", "val acc"],
  ["val_loss", "val loss"], ["test_acc", "test acc"], ["test_loss", "test loss"], ["wall_seconds", "wall"],
];

function cellValue(r, k) {
  if (["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"].includes(k)) return r.final ? r.final[k] : null;
  return r[k];
}

function cellText(r, k) {
  const v = cellValue(r, k);
  if (v == null || (r.kind === "checkpoint" && ["epochs", "steps", "wall_seconds"].includes(k))) return "";
  if (k.endsWith("_acc")) return pct(v);
  if (k.endsWith("_loss") || k === "lr" || k === "rho") return num(v);
  if (k === "wall_seconds") return secs(v);
  if (k === "epochs") return num(v, 3);
  if (k === "kind" && r.trial_kind) return v + " (" + r.trial_kind + ")";
  return String(v);
}

function matches(r) {
  if (state.kind !== "all" && r.kind !== state.kind) return false;
  const terms = state.filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (!terms.length) return true;
  const text = COLS.map(([k]) => cellText(r, k)).join(" ").toLowerCase() + " " + (r.live ? "live" : "");
  return terms.every((t) => {
    const m = t.match(/^([a-z_]+)([:=<>])(.+)$/);
    if (m) {
      const col = COLS.find(([k, l]) => k === m[1] || l === m[1]);
      if (col) {
        const v = cellValue(r, col[0]);
        if (m[2] === "<" || m[2] === ">") return v != null && (m[2] === "<" ? v < Number(m[3]) : v > Number(m[3]));
        if (typeof v === "number") return v === Number(m[3]);
        return String(cellText(r, col[0])).toLowerCase().includes(m[3]);
      }
    }
    return text.includes(t);
  });
}

function renderRuns(main) {
  const { key, dir } = state.sort;
  const rows = state.runs.filter(matches).sort((a, b) => {
    const x = cellValue(a, key), y = cellValue(b, key);
    if (x == null && y == null) return a.id < b.id ? -1 : 1;
    if (x == null) return 1;
    if (y == null) return -1;
    return (x < y ? -1 : x > y ? 1 : 0) * dir;
  });
  const sel = state.runs.filter((r) => state.selected.has(r.id));
  const overlay = el("button", {
    id: "overlay", disabled: sel.length === 0 ? true : null,
    onclick: () => (location.hash = "#/curves"),
    text: "Overlay curves of " + sel.length + " selected",
  });
  const filter = el("input", {
    type: "search", id: "filter", placeholder: "filter: words, or rho:0.05 val_acc>0.9 status:running", value: state.filter,
    oninput: (e) => { state.filter = e.target.value; rerender(); },
  });
  const kind = el("select", { id: "kind", onchange: (e) => { state.kind = e.target.value; rerender(); } },
    ["all", "train", "trial", "checkpoint"].map((k) => el("option", { value: k, text: k === "all" ? "all kinds" : k, selected: state.kind === k ? true : null })));
  main.append(el("h2", { text: "Runs" }), el("div", { class: "toolbar" }, filter, kind, overlay,
    el("button", { onclick: () => { state.selected.clear(); saveSelected(); rerender(); }, text: "Clear selection" }),
    el("span", { class: "muted", text: rows.length + " of " + state.runs.length + " shown; click a header to sort" })));
  if (state.runs.length === 0) {
    main.append(el("div", { class: "empty", text: "No runs found under " + (state.status ? state.status.dirs.map((d) => d.path).join(", ") : "the directories") + ". Train one: sam train --out runs/NAME" }));
    return;
  }
  const head = el("tr", {}, el("th", { class: "nosort" }), COLS.map(([k, label]) =>
    el("th", { "data-key": k, onclick: () => { state.sort = { key: k, dir: state.sort.key === k ? -state.sort.dir : 1 }; rerender(); } },
      label + (key === k ? (dir > 0 ? " ▲" : " ▼") : ""))), el("th", { class: "nosort", text: "problems" }));
  const body = rows.map((r) => {
    const cb = el("input", {
      type: "checkbox", checked: state.selected.has(r.id), disabled: r.metric_rows === 0 ? true : null,
      title: r.metric_rows === 0 ? "no metrics to plot" : "select to overlay",
      onchange: (e) => { e.target.checked ? state.selected.add(r.id) : state.selected.delete(r.id); saveSelected(); rerender(); },
    });
    return el("tr", { class: state.selected.has(r.id) ? "selected" : "", "data-id": r.id },
      el("td", {}, cb),
      COLS.map(([k]) => {
        if (k === "status") return el("td", {}, badge(r.status));
        if (k === "id") {
          const a = r.sharpness ? el("a", { href: "#/sharpness/" + enc(r.id), title: "sharpness", text: " ◆" }) : null;
          return el("td", {}, el("a", { href: "#/curves?runs=" + enc(r.id), text: r.id }), a);
        }
        const isNum = typeof cellValue(r, k) === "number";
        return el("td", { class: isNum ? "num" : "", text: cellText(r, k) });
      }),
      problemsCell(r.problems));
  });
  main.append(el("table", { id: "runs" }, el("thead", {}, head), el("tbody", {}, body)));
}

// ---- Curves page ----

const CURVES = [
  { title: "loss", keys: [["train_loss", "train loss"], ["val_loss", "val loss"]], log: true },
  { title: "accuracy", keys: [["train_acc", "train acc"], ["val_acc", "val acc"]], log: false },
  { title: "learning rate", keys: [["lr", "lr"]], log: true },
  { title: "λ_max (Hessian top eigenvalue)", keys: [["lambda_max", "λ_max"]], log: true, optional: true },
];
const XKEYS = { step: ["step", "step"], epoch: ["epoch", "epoch"], wall: ["seconds", "wall time (s)"] };

const metricsCache = new Map(); // id -> {version, rows}

async function metricsOf(id) {
  const run = state.runs.find((r) => r.id === id);
  const c = metricsCache.get(id);
  if (c && run && c.version === run.version) return c;
  const m = await api(runURL(id, "metrics"));
  metricsCache.set(id, m);
  return m;
}

async function renderCurves(main, q) {
  if (q.get("runs")) {
    for (const id of q.get("runs").split(",").filter(Boolean)) state.selected.add(id);
    saveSelected();
    history.replaceState(null, "", "#/curves");
  }
  const plottable = state.runs.filter((r) => r.metric_rows > 0);
  const sel = plottable.filter((r) => state.selected.has(r.id));
  let sideFilter = "";
  const list = el("div", { id: "runlist" });
  const drawList = () => {
    list.replaceChildren(...plottable.filter((r) => !sideFilter || r.id.toLowerCase().includes(sideFilter)).map((r) =>
      el("label", { title: r.id },
        el("input", { type: "checkbox", "data-id": r.id, checked: state.selected.has(r.id),
          onchange: (e) => { e.target.checked ? state.selected.add(r.id) : state.selected.delete(r.id); saveSelected(); rerender(); } }),
        el("span", { class: "swatch", style: "background:" + (state.selected.has(r.id) ? colorOf(r.id) : "transparent") }),
        r.id, r.live ? el("span", { class: "badge running", text: "live" }) : null)));
  };
  drawList();
  const side = el("div", { class: "side" },
    el("input", { type: "search", placeholder: "filter runs", style: "width:95%", oninput: (e) => { sideFilter = e.target.value.toLowerCase(); drawList(); } }),
    list);
  const xsel = el("select", { id: "xaxis", onchange: (e) => { state.x = e.target.value; localStorage.setItem("sam.x", state.x); rerender(); } },
    Object.entries(XKEYS).map(([k, [, label]]) => el("option", { value: k, text: label, selected: state.x === k ? true : null })));
  const sm = el("input", { type: "range", id: "smooth", min: 0, max: 0.99, step: 0.01, value: state.smooth,
    onchange: (e) => { state.smooth = Number(e.target.value); localStorage.setItem("sam.smooth", state.smooth); rerender(); } });
  const logy = el("input", { type: "checkbox", id: "logy", checked: state.logy,
    onchange: (e) => { state.logy = e.target.checked; localStorage.setItem("sam.logy", state.logy ? "1" : "0"); rerender(); } });
  const live = sel.filter((r) => r.live);
  main.append(el("h2", { text: "Curves" }), el("div", { class: "toolbar" },
    el("label", {}, "x axis ", xsel),
    el("label", {}, "smoothing ", sm, " " + state.smooth.toFixed(2)),
    el("label", {}, logy, " log scale (loss, lr, λ_max)"),
    el("span", { id: "live", class: live.length ? "" : "muted" },
      live.length ? "live: " + live.map((r) => r.id).join(", ") + " (updating)" : "no selected run is training")));
  const area = el("div", { class: "charts", id: "charts" });
  main.append(el("div", { class: "layout" }, side, area));
  if (sel.length === 0) {
    area.append(el("div", { class: "empty", text: "Select runs on the left (or on the Runs page) to overlay their curves." }));
    return;
  }
  const ms = await Promise.all(sel.map((r) => metricsOf(r.id).catch((e) => ({ error: e.message, rows: [], problems: [] }))));
  const [xk, xlabel] = XKEYS[state.x];
  for (const c of CURVES) {
    const tables = [], series = [];
    sel.forEach((r, i) => {
      const rows = ms[i].rows.filter((row) => typeof row[xk] === "number").sort((a, b) => a[xk] - b[xk]);
      const keys = c.keys.filter(([k]) => rows.some((row) => typeof row[k] === "number"));
      if (!keys.length) return;
      tables.push([rows.map((row) => row[xk])].concat(keys.map(([k]) => smooth(rows.map((row) => (typeof row[k] === "number" ? row[k] : null)), c.title === "learning rate" ? 0 : state.smooth))));
      keys.forEach(([k, label], j) => series.push({
        label: r.id + " · " + label, stroke: colorOf(r.id), width: 1.6, dash: j > 0 ? [6, 4] : undefined, spanGaps: true,
        points: { show: rows.length < 40 }, value: (u, v) => (v == null ? "–" : c.title === "accuracy" ? pct(v) : num(v)),
      }));
    });
    if (!series.length) {
      if (!c.optional) area.append(el("div", { class: "chart" }, el("div", { class: "title", text: c.title }), el("div", { class: "empty", text: "nothing to plot" })));
      continue;
    }
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    chart(area, c.title, data, series, { xlabel, ylog: state.logy && c.log });
  }
  const problems = ms.flatMap((m, i) => (m.error ? [sel[i].id + ": " + m.error] : (m.problems || []).map((p) => sel[i].id + ": " + p)));
  if (problems.length) main.append(el("div", { class: "warn", id: "curve-problems" }, problems.map((p) => el("div", { text: "⚠ " + p }))));
}

// ---- Sweeps page ----

function renderSweepList(main) {
  main.append(el("h2", { text: "Sweeps" }));
  if (!state.sweeps.length) {
    main.append(el("div", { class: "empty", text: "No sweep folders (with sweep.json) found. Run one: sam sweep --out runs/sweep-NAME ..." }));
    return;
  }
  const head = el("tr", {}, ["sweep", "status", "data", "model", "opt", "variant", "ρ grid", "lr", "L2", "seeds", "folds", "trials", "problems"].map((h) => el("th", { class: "nosort", text: h })));
  const body = state.sweeps.map((s) => el("tr", { class: "clickable", "data-id": s.id, onclick: () => (location.hash = "#/sweeps/" + enc(s.id)) },
    el("td", { text: s.id }), el("td", {}, badge(s.status)), el("td", { text: s.data || "" }), el("td", { text: s.model || "" }),
    el("td", { text: s.optimizer || "" }), el("td", { text: s.variant || "" }), el("td", { text: s.rho.join(", ") }),
    el("td", { text: s.lr.join(", ") }), el("td", { text: s.l2.join(", ") }), el("td", { class: "num", text: s.seeds }),
    el("td", { class: "num", text: s.folds || "–" }), el("td", { class: "num", text: s.finished_trials + " / " + s.expected_trials }),
    problemsCell(s.problems)));
  main.append(el("table", { id: "sweeps" }, el("thead", {}, head), el("tbody", {}, body)));
}

async function renderSweep(main, id) {
  const d = await api("/api/sweeps/" + enc(id));
  const s = d.sweep, acc = d.metric === "val_acc";
  const f = acc ? pct : (v) => num(v);
  const mk = acc ? "val_acc" : "val_loss";
  const res = d.results;
  const best = res && res.best;
  main.append(el("h2", {}, el("a", { href: "#/sweeps", text: "Sweeps" }), " / " + s.id + " ", badge(s.status)),
    el("div", { class: "muted", text: [s.data, s.model, s.optimizer, s.variant].filter(Boolean).join(", ") + " · " +
      s.finished_trials + " of " + s.expected_trials + " validation trials finished · " + s.seeds + " seed(s)" + (s.folds ? ", " + s.folds + "-fold cross-validation" : ", one validation split") }));
  if (best) main.append(el("div", { id: "chosen", style: "margin:6px 0", text: "chosen: ρ = " + best.rho + " (lr " + best.lr + ", L2 " + best.l2 + "), " + (acc ? "val accuracy " : "val loss ") + pm(best[mk + "_mean"], best[mk + "_std"], f) }));
  else main.append(el("div", { id: "chosen", class: "muted", text: "no results.json yet: the chosen ρ and the test table appear when the sweep finishes" }));
  if (s.problems.length) main.append(el("div", { class: "warn" }, s.problems.map((p) => el("div", { text: "⚠ " + p }))));

  const area = el("div", { class: "charts", id: "charts" });
  main.append(area);
  const rhos = [...new Set(d.points.map((p) => p.rho))].sort((a, b) => a - b);
  if (rhos.length) {
    const combos = [...new Set(d.points.map((p) => p.lr + "|" + p.l2))];
    const xs = rhos.map((_, i) => i); // evenly spaced grid points, labelled with their ρ
    const data = [xs], series = [];
    const scale = acc ? 100 : 1;
    combos.forEach((cmb, ci) => {
      const [lr, l2] = cmb.split("|").map(Number);
      const at = (rho) => d.points.find((p) => p.rho === rho && p.lr === lr && p.l2 === l2);
      const mean = rhos.map((r) => { const p = at(r); return p && p[mk + "_mean"] != null ? p[mk + "_mean"] * scale : null; });
      const sd = rhos.map((r) => { const p = at(r); return p && p[mk + "_std"] != null ? p[mk + "_std"] * scale : null; });
      const suffix = combos.length > 1 ? " (lr " + lr + ", L2 " + l2 + ")" : "";
      const color = PALETTE[ci % PALETTE.length];
      data.push(mean, mean.map((m, i) => (m == null ? null : m + sd[i])), mean.map((m, i) => (m == null ? null : m - sd[i])));
      series.push({ label: "mean" + suffix, stroke: color, width: 2, spanGaps: true },
        { label: "mean + std" + suffix, stroke: color, width: 1, dash: [4, 4], spanGaps: true },
        { label: "mean − std" + suffix, stroke: color, width: 1, dash: [4, 4], spanGaps: true });
    });
    if (combos.length === 1) {
      const groups = new Map();
      for (const t of d.trials) {
        if (t.trial_kind !== "cv" || !t.final || t.final[mk] == null) continue;
        const g = "seed " + t.seed + (t.fold >= 0 ? " fold " + t.fold : "");
        if (!groups.has(g)) groups.set(g, xs.map(() => null));
        groups.get(g)[rhos.indexOf(t.rho)] = t.final[mk] * scale;
      }
      [...groups.keys()].sort().forEach((g, i) => {
        data.push(groups.get(g));
        series.push({ label: g, stroke: PALETTE[(i + 1) % PALETTE.length], paths: () => null, points: { show: true, size: 7 } });
      });
    }
    if (best) {
      data.push(rhos.map((r) => { if (r !== best.rho) return null; const v = best[mk + "_mean"]; return v == null ? null : v * scale; }));
      series.push({ label: "chosen ρ", stroke: "#d62728", paths: () => null, points: { show: true, size: 14, width: 3, fill: "transparent" } });
    }
    const lab = (i) => (Number.isInteger(i) && rhos[i] != null ? String(rhos[i]) : "");
    chart(area, (acc ? "validation accuracy (%)" : "validation loss") + " vs ρ", data, series, {
      xlabel: "ρ", wide: true,
      uplot: { height: 320, scales: { x: { time: false, range: () => [-0.4, xs.length - 0.6] } },
        axes: [{ label: "ρ (grid points, evenly spaced)", splits: () => xs, values: (u, vals) => vals.map(lab) },
          { size: 60, values: (u, vals) => vals.map((v) => num(v, 3)) }],
        series: [{ label: "ρ", value: (u, i) => (i == null ? "–" : lab(i)) }].concat(series.map((x) => Object.assign({ value: (u, v) => (v == null ? "–" : num(v)) }, x))) },
    });
  }

  main.append(el("h3", { text: "Test (best and baseline retrained on train+validation, tested once)" }));
  if (res && res.test) {
    const rows = [["baseline (ρ = 0)", res.test.baseline], ["best", res.test.best]].filter(([, t]) => t);
    main.append(el("table", { id: "test" },
      el("thead", {}, el("tr", {}, ["", "ρ", "lr", "L2", "seeds", "test accuracy", "test loss"].map((h) => el("th", { class: "nosort", text: h })))),
      el("tbody", {}, rows.map(([name, t]) => el("tr", {},
        el("td", { text: name }), el("td", { class: "num", text: t.rho }), el("td", { class: "num", text: t.lr }), el("td", { class: "num", text: t.l2 }),
        el("td", { text: (t.seeds || []).join(", ") }),
        el("td", { class: "num", text: pm(t.test_acc_mean, t.test_acc_std, pct) }),
        el("td", { class: "num", text: pm(t.test_loss_mean, t.test_loss_std, (v) => num(v)) }))))));
  } else {
    main.append(el("div", { class: "muted", text: "no test results yet" }));
  }

  main.append(el("h3", { text: "Validation (mean ± standard deviation over seeds and folds)" }));
  main.append(el("table", { id: "grid" },
    el("thead", {}, el("tr", {}, ["ρ", "lr", "L2", "trials", "val accuracy", "val loss", ""].map((h) => el("th", { class: "nosort", text: h })))),
    el("tbody", {}, d.points.map((p) => el("tr", {},
      el("td", { class: "num", text: p.rho }), el("td", { class: "num", text: p.lr }), el("td", { class: "num", text: p.l2 }), el("td", { class: "num", text: p.n }),
      el("td", { class: "num", text: pm(p.val_acc_mean, p.val_acc_std, pct) }),
      el("td", { class: "num", text: pm(p.val_loss_mean, p.val_loss_std, (v) => num(v)) }),
      el("td", { text: best && best.rho === p.rho && best.lr === p.lr && best.l2 === p.l2 ? "chosen" : "" }))))));

  if (s.files.includes("rho.png")) {
    main.append(el("h3", { text: "rho.png (written by sam sweep)" }), el("div", { class: "figures" },
      el("figure", {}, el("img", { src: "/api/sweeps/" + enc(s.id) + "/files/rho.png", alt: "rho.png" }))));
  }
  main.append(el("h3", { text: "Trials" }));
  main.append(el("table", { id: "trials" },
    el("thead", {}, el("tr", {}, ["trial", "kind", "ρ", "lr", "L2", "seed", "fold", "steps", "val acc", "val loss", "test acc", "test loss", "status"].map((h) => el("th", { class: "nosort", text: h })))),
    el("tbody", {}, d.trials.map((t) => el("tr", {},
      el("td", {}, el("a", { href: "#/curves?runs=" + enc(t.id), text: t.id.split("/").pop() })), el("td", { text: t.trial_kind || "" }),
      el("td", { class: "num", text: t.rho }), el("td", { class: "num", text: t.lr }), el("td", { class: "num", text: t.l2 }),
      el("td", { class: "num", text: t.seed }), el("td", { class: "num", text: t.fold >= 0 ? t.fold : "–" }), el("td", { class: "num", text: t.steps }),
      el("td", { class: "num", text: pct(t.final && t.final.val_acc) }), el("td", { class: "num", text: num(t.final && t.final.val_loss) }),
      el("td", { class: "num", text: pct(t.final && t.final.test_acc) }), el("td", { class: "num", text: num(t.final && t.final.test_loss) }),
      el("td", {}, badge(t.status)))))));
}

// ---- Sharpness page ----

const SHARP = [
  ["lambda_max", "λ_max (top Hessian eigenvalue)"], ["trace", "trace (Hutchinson)"], ["sam_sharpness", "SAM sharpness max L(w+ε) − L(w)"],
  ["eps_sharpness", "ε-sharpness (Keskar)"], ["loss", "loss"], ["accuracy", "accuracy"],
];

async function renderSharpness(main, id) {
  const cands = state.runs.filter((r) => r.sharpness);
  main.append(el("h2", { text: "Sharpness" }));
  if (!cands.length) {
    main.append(el("div", { class: "empty", text: "No checkpoint with sharpness.json, density.csv or landscape figures. Make some: sam sharpness --model RUN/model.safetensors --out RUN --density-probes 4" }));
    return;
  }
  const all = await Promise.all(cands.map((r) => api(runURL(r.id, "sharpness")).catch((e) => ({ id: r.id, error: e.message, problems: [e.message] }))));
  if (!id || !cands.some((r) => r.id === id)) id = cands[0].id;
  if (state.compare.size === 0) state.compare.add(id);
  const head = el("tr", {}, el("th", { class: "nosort", text: "density" }), el("th", { class: "nosort", text: "checkpoint" }),
    SHARP.map(([, l]) => el("th", { class: "nosort", text: l })), el("th", { class: "nosort", text: "problems" }));
  const body = all.map((d, i) => {
    const sh = d.sharpness || {};
    return el("tr", { class: "clickable" + (cands[i].id === id ? " selected" : ""), "data-id": cands[i].id, onclick: (e) => {
      if (e.target.tagName !== "INPUT") location.hash = "#/sharpness/" + enc(cands[i].id);
    } },
      el("td", {}, d.density ? el("input", { type: "checkbox", checked: state.compare.has(cands[i].id), title: "overlay this density",
        onchange: (e) => { e.target.checked ? state.compare.add(cands[i].id) : state.compare.delete(cands[i].id); rerender(); } }) : null),
      el("td", { text: cands[i].id }),
      SHARP.map(([k]) => el("td", { class: "num", text: k === "accuracy" ? pct(sh[k]) : k === "trace" && sh.trace_stderr != null ? num(sh[k]) + " ± " + num(sh.trace_stderr, 2) : num(sh[k]) })),
      problemsCell(d.problems));
  });
  main.append(el("table", { id: "sharp" }, el("thead", {}, head), el("tbody", {}, body)));

  const d = all[cands.findIndex((r) => r.id === id)];
  const sh = d.sharpness;
  main.append(el("h3", { text: id }));
  if (d.problems && d.problems.length) main.append(el("div", { class: "warn" }, d.problems.map((p) => el("div", { text: "⚠ " + p }))));
  if (sh) {
    const kv = Object.entries(sh).filter(([k, v]) => v !== null && typeof v !== "object").map(([k, v]) =>
      el("tr", {}, el("td", { text: k }), el("td", { class: typeof v === "number" ? "num" : "", text: typeof v === "number" ? num(v, 6) : String(v) })));
    if (Array.isArray(sh.top_eigenvalues)) kv.push(el("tr", {}, el("td", { text: "top_eigenvalues" }), el("td", { text: sh.top_eigenvalues.map((v) => num(v, 5)).join("  ") })));
    main.append(el("table", { class: "kv", id: "sharp-kv" }, el("tbody", {}, kv)));
  }
  const area = el("div", { class: "charts", id: "charts" });
  main.append(area);
  const dens = all.map((x, i) => [cands[i].id, x.density]).filter(([rid, x]) => x && state.compare.has(rid));
  if (dens.length) {
    const tables = dens.map(([, x]) => {
      const floor = 1e-7 * Math.max(...x.density); // as density.png
      const ys = x.density.map((v) => (state.densityLog && v < floor ? null : v));
      return [x.eigenvalue, ys];
    });
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    const series = dens.map(([rid]) => ({ label: rid + " · density", stroke: colorOf(rid), width: 1.6, spanGaps: true }));
    const logBox = el("label", {}, el("input", { type: "checkbox", id: "denslog", checked: state.densityLog, onchange: (e) => { state.densityLog = e.target.checked; rerender(); } }), " log scale");
    main.insertBefore(el("div", { class: "toolbar" }, el("span", { text: "Eigenvalue density (stochastic Lanczos quadrature; tick the rows above to overlay)" }), logBox), area);
    chart(area, "Hessian eigenvalue density", data, series, { xlabel: "eigenvalue", ylog: state.densityLog, wide: true, uplot: { height: 320 } });
  }
  const run = cands.find((r) => r.id === id);
  if (d.figures && d.figures.length) {
    main.append(el("h3", { text: "Figures" }), el("div", { class: "figures", id: "figures" }, d.figures.map((f) =>
      el("figure", {}, el("img", { src: runURL(run.id, "files/" + enc(f)), alt: f }), el("figcaption", { text: f })))));
  }
}

// ---- page switching ----

let rendering = null;

async function render() {
  const r = route();
  samUI.ready = false;
  samUI.page = r.page;
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === r.page));
  const main = document.getElementById("main");
  const fresh = el("main", { id: "main" });
  clearCharts();
  main.replaceWith(fresh);
  try {
    if (r.page === "curves") await renderCurves(fresh, r.query);
    else if (r.page === "sweeps") await (r.arg ? renderSweep(fresh, r.arg) : renderSweepList(fresh));
    else if (r.page === "sharpness") await renderSharpness(fresh, r.arg);
    else renderRuns(fresh);
  } catch (e) {
    fresh.append(el("div", { class: "warn", text: "⚠ " + e.message }));
  }
  samUI.renders++;
  samUI.ready = true;
}

// rerender keeps one render in flight and runs the latest request after it.
let pending = false;
function rerender() {
  if (rendering) { pending = true; return; }
  // A redraw (a live update, say) keeps the scroll position and the focus of the input being typed in.
  const scrollY = window.scrollY;
  const a = document.activeElement;
  const focus = a && a.id ? { id: a.id, start: a.selectionStart, end: a.selectionEnd } : null;
  rendering = render().finally(() => {
    rendering = null;
    window.scrollTo(0, scrollY);
    const f = focus && document.getElementById(focus.id);
    if (f && document.activeElement !== f) {
      f.focus();
      if (focus.start != null && f.setSelectionRange) try { f.setSelectionRange(focus.start, focus.end); } catch (e) { /* not a text input */ }
    }
    if (pending) { pending = false; rerender(); }
  });
}

function connect() {
  const es = new EventSource("/api/events");
  // On (re)connecting, anything may have changed while no stream was open: reload and redraw.
  es.addEventListener("hello", () => {
    samUI.hellos = (samUI.hellos || 0) + 1;
    const first = !state.connected && samUI.hellos === 1;
    state.connected = true;
    refreshLists().then(() => { if (!first) rerender(); }, () => {});
  });
  es.addEventListener("change", async (e) => {
    samUI.events++;
    const ch = JSON.parse(e.data);
    await refreshLists().catch(() => {});
    const r = route();
    const touches = (r.page === "curves" && ch.runs.some((id) => state.selected.has(id))) || r.page === "runs" ||
      (r.page === "sweeps" && (ch.sweeps.length > 0)) || (r.page === "sharpness" && ch.runs.length > 0);
    if (touches) rerender();
  });
  es.onerror = () => {
    state.connected = false;
    document.getElementById("status").textContent = "live updates: reconnecting…";
  };
}

window.addEventListener("hashchange", rerender);
refreshLists().then(rerender, (e) => {
  document.getElementById("main").append(el("div", { class: "warn", text: "⚠ " + e.message }));
  samUI.ready = true;
});
connect();
