"use strict";
// The FedTune.Cloud dashboard: the runs (GET runs), or one run (?run=ID) polled every two seconds from
// GET runs/{id}/dashboard. Everything is drawn here (SVG charts by hand); nothing is loaded from elsewhere.
(() => {
  const POLL_MS = 2000;
  const FINAL = new Set(["completed", "failed", "terminated"]);
  const COLORS = ["#2456a6", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285", "#5c940d", "#e67700", "#364fc7", "#a61e4d"];
  const params = new URLSearchParams(location.search);
  const code = params.get("code"); // a Functions key travels with every request the page makes
  const runId = params.get("run");
  const $ = (id) => document.getElementById(id);
  // ε spent so far, as the simulate report takes it: record-level DP-SGD's (the largest a hospital reports), else
  // hospital-level DP-FedAvg's (the orchestrator's accountant).
  const epsilonOf = (r) => (typeof r.record_epsilon === "number" ? r.record_epsilon : r.dp_epsilon);

  function url(path, query) {
    const q = new URLSearchParams(query || {});
    if (code) q.set("code", code);
    const s = q.toString();
    return path + (s ? "?" + s : "");
  }

  async function getJson(path, query) {
    const response = await fetch(url(path, query), { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error((body && body.message) || response.status + " " + response.statusText);
    return body;
  }

  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (className) e.className = className;
    return e;
  }

  function fmt(value, digits) {
    return typeof value === "number" && isFinite(value) ? value.toFixed(digits) : "–";
  }

  function mib(bytes) { return bytes / 1048576; }

  function duration(seconds) {
    if (!(seconds >= 0)) return "";
    if (seconds < 60) return seconds.toFixed(1) + "s";
    const m = Math.floor(seconds / 60), s = Math.floor(seconds % 60);
    return m >= 60 ? Math.floor(m / 60) + "h" + String(m % 60).padStart(2, "0") + "m" : m + "m" + String(s).padStart(2, "0") + "s";
  }

  function time(iso) { return iso ? iso.replace("T", " ").slice(0, 19) : ""; }

  function showProblem(message) {
    const p = $("problem");
    p.hidden = !message;
    p.textContent = message || "";
  }

  function stamp() { $("updated").textContent = "updated " + new Date().toLocaleTimeString(); }

  function stateBadge(state) { return el("span", state, "state state-" + state); }

  // ---- the list of runs ----
  async function showRuns() {
    $("runs-view").hidden = false;
    const tbody = $("runs").tBodies[0];
    try {
      const list = await getJson("runs");
      tbody.replaceChildren(...list.runs.map((run) => {
        const tr = el("tr");
        tr.dataset.run = run.run_id;
        const a = el("a", run.run_id);
        a.href = url("", { run: run.run_id });
        const first = el("td");
        first.append(a);
        const status = run.status || {};
        tr.append(first, el("td", run.runtime_status), el("td", status.phase || ""),
          el("td", status.round ? status.round + " of " + status.total_rounds : ""), el("td", time(run.created_utc)), el("td", time(run.last_updated_utc)));
        return tr;
      }));
      $("no-runs").hidden = list.runs.length > 0;
      showProblem(null);
    } catch (e) {
      showProblem("Could not list the runs: " + e.message);
    }
    stamp();
    setTimeout(showRuns, POLL_MS * 2);
  }

  // ---- one run ----
  const run = { rounds: [], evaluations: new Map(), afterRound: 0, afterEvaluation: -1 };

  async function pollRun() {
    let finished = false;
    try {
      const view = await getJson("runs/" + encodeURIComponent(runId) + "/dashboard",
        { after_round: run.afterRound, after_evaluation: run.afterEvaluation });
      for (const r of view.rounds) {
        if (r.round > run.afterRound) { run.rounds.push(r); run.afterRound = r.round; }
      }
      for (const e of view.evaluations) {
        run.evaluations.set(e.round, e);
        run.afterEvaluation = Math.max(run.afterEvaluation, e.round);
      }
      render(view);
      showProblem(view.run.failure ? "The run failed: " + view.run.failure : null);
      finished = FINAL.has(view.run.runtime_status) && !view.round_in_progress;
    } catch (e) {
      showProblem("Could not read run " + runId + ": " + e.message);
    }
    stamp();
    // A finished run still gets a slow poll: a late global evaluation may arrive after the last round.
    setTimeout(pollRun, finished ? POLL_MS * 5 : POLL_MS);
  }

  function render(view) {
    const status = view.run.status || {};
    document.title = runId + " · FedTune.Cloud";
    $("title").textContent = runId;
    $("run-id").textContent = runId;
    $("runtime-status").textContent = view.run.runtime_status;
    $("phase").textContent = status.phase || "–";
    const total = status.total_rounds || (view.round_in_progress && view.round_in_progress.total_rounds);
    $("round").textContent = view.round_in_progress
      ? view.round_in_progress.round + " of " + total + (view.round_in_progress.attempt ? " (retry " + view.round_in_progress.attempt + ")" : "")
      : run.rounds.length + (total ? " of " + total : "") + " done";
    const lastEps = [...run.rounds].reverse().find((r) => typeof epsilonOf(r) === "number");
    $("epsilon").textContent = lastEps ? fmt(epsilonOf(lastEps), 3) + (typeof lastEps.record_epsilon === "number" ? " per record" : "") : "no DP";
    const message = $("message");
    message.hidden = !status.message;
    message.textContent = status.message || "";
    renderHospitals(view.round_in_progress, status.counts);
    renderRecipe(view.recipe);
    renderRounds();
    renderCharts();
  }

  function renderHospitals(progress, counts) {
    const tbody = $("hospitals").tBodies[0];
    const last = run.rounds[run.rounds.length - 1];
    let rows, title;
    if (progress) {
      title = "Round " + progress.round + " in progress (" + progress.phase + ")";
      rows = progress.hospitals;
      // Rounds with more hospitals than the status lists show counts only.
      if (rows.length === 0 && counts) {
        title += ": " + counts.selected + " sampled, " + counts.pending + " pending, " + counts.uploaded + " uploaded, " +
          counts.failed + " rejected, " + counts.stragglers + " stragglers";
      }
    } else if (last) {
      title = "Round " + last.round + " (finished)";
      rows = last.hospitals;
    } else {
      title = "Hospitals";
      rows = [];
    }
    $("hospitals-title").textContent = title;
    tbody.replaceChildren(...rows.map((h) => {
      const tr = el("tr");
      tr.dataset.hospital = h.hospital_id;
      tr.dataset.state = h.state;
      const state = el("td");
      state.append(stateBadge(h.state));
      tr.append(el("td", h.hospital_id), state, el("td", fmt(h.train_loss, 4), "num"), el("td", h.reason || ""));
      return tr;
    }));
  }

  function renderRecipe(recipe) {
    const tbody = $("recipe").tBodies[0];
    $("no-recipe").hidden = !!recipe;
    if (!recipe) { tbody.replaceChildren(); return; }
    const rows = [];
    const walk = (prefix, value) => {
      if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) walk(prefix ? prefix + "." + k : k, v);
      } else {
        const tr = el("tr");
        tr.append(el("td", prefix), el("td", Array.isArray(value) ? value.join(", ") : value === null ? "null" : value));
        rows.push(tr);
      }
    };
    walk("", recipe);
    tbody.replaceChildren(...rows);
  }

  function renderRounds() {
    const tbody = $("rounds").tBodies[0];
    tbody.replaceChildren(...[...run.rounds].reverse().map((r) => {
      const tr = el("tr");
      tr.dataset.round = r.round;
      const count = (s) => r.hospitals.filter((h) => h.state === s).length;
      const e = run.evaluations.get(r.round);
      tr.append(el("td", r.round + (r.attempt ? " (retry " + r.attempt + ")" : ""), "num"), el("td", r.strategy),
        el("td", e ? fmt(e.perplexity, 2) : "–", "num"), el("td", count("uploaded"), "num"), el("td", count("straggler"), "num"),
        el("td", count("rejected"), "num"), el("td", fmt(mib(r.bytes_up), 2), "num"), el("td", fmt(mib(r.bytes_down), 2), "num"),
        el("td", fmt(epsilonOf(r), 3), "num"), el("td", duration(r.duration_seconds), "num"));
      return tr;
    }));
  }

  function renderCharts() {
    const global = [...run.evaluations.values()].sort((a, b) => a.round - b.round).map((e) => [e.round, e.perplexity]);
    const local = run.rounds.filter((r) => typeof r.hospitals_held_out_perplexity === "number").map((r) => [r.round, r.hospitals_held_out_perplexity]);
    lineChart($("chart-perplexity"), [
      { label: "global model, held-out split", points: global },
      { label: "hospitals' own held-out splits (mean)", points: local, dashed: true },
    ], "round (0 = base model)", "perplexity", "No perplexity yet: it appears when a round finishes.");

    const byHospital = new Map();
    for (const r of run.rounds) {
      for (const h of r.hospitals) {
        if (typeof h.train_loss !== "number") continue;
        if (!byHospital.has(h.hospital_id)) byHospital.set(h.hospital_id, []);
        byHospital.get(h.hospital_id).push([r.round, h.train_loss]);
      }
    }
    lineChart($("chart-loss"), [...byHospital.keys()].sort().map((id) => ({ label: id, points: byHospital.get(id) })),
      "round", "training loss (nats/token)", "No training loss yet: it appears when a round finishes.");

    lineChart($("chart-bytes"), [
      { label: "uploaded (adapters)", points: run.rounds.map((r) => [r.round, mib(r.bytes_up)]) },
      { label: "downloaded (global adapter)", points: run.rounds.map((r) => [r.round, mib(r.bytes_down)]), dashed: true },
    ], "round", "MiB", "No bytes yet: they appear when a round finishes.");

    const eps = run.rounds.filter((r) => typeof epsilonOf(r) === "number").map((r) => [r.round, epsilonOf(r)]);
    lineChart($("chart-epsilon"), [{ label: "ε spent so far", points: eps }], "round", "ε",
      run.rounds.length ? "This run has no differential privacy (no ε to spend)." : "No round finished yet.");
  }

  // ---- a small SVG line chart ----
  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function ticks(min, max, count) {
    const span = max - min || 1;
    const step0 = span / count;
    const mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= count) || 10 * mag;
    const out = [];
    for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(+v.toFixed(10));
    return out;
  }

  function label(v) {
    const a = Math.abs(v);
    return a === 0 ? "0" : a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1).replace(/\.0$/, "") : a >= 0.01 ? v.toPrecision(3).replace(/\.?0+$/, "") : v.toExponential(1);
  }

  function lineChart(root, series, xTitle, yTitle, emptyText) {
    const W = 560, H = 300, L = 58, R = 14, T = 14, B = 62;
    const points = series.flatMap((s) => s.points);
    root.replaceChildren();
    root.dataset.points = String(points.length);
    if (points.length === 0) {
      root.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, emptyText));
      return;
    }
    let xMin = Math.min(...points.map((p) => p[0])), xMax = Math.max(...points.map((p) => p[0]));
    let yMin = Math.min(...points.map((p) => p[1])), yMax = Math.max(...points.map((p) => p[1]));
    if (xMin === xMax) { xMin -= 1; xMax += 1; }
    if (yMin === yMax) { const d = Math.abs(yMin) * 0.05 || 1; yMin -= d; yMax += d; }
    const pad = (yMax - yMin) * 0.08;
    yMin -= pad; yMax += pad;
    const x = (v) => L + (v - xMin) / (xMax - xMin) * (W - L - R);
    const y = (v) => T + (1 - (v - yMin) / (yMax - yMin)) * (H - T - B);

    for (const v of ticks(yMin, yMax, 5)) {
      root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid-line" }));
      root.append(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, label(v)));
    }
    for (const v of ticks(xMin, xMax, 8).filter((t) => Number.isInteger(t))) {
      root.append(svg("line", { x1: x(v), x2: x(v), y1: H - B, y2: H - B + 4, class: "axis" }));
      root.append(svg("text", { x: x(v), y: H - B + 16, "text-anchor": "middle" }, label(v)));
    }
    root.append(svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
    root.append(svg("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }));
    root.append(svg("text", { x: (L + W - R) / 2, y: H - B + 32, "text-anchor": "middle" }, xTitle));
    root.append(svg("text", { x: 12, y: (T + H - B) / 2, "text-anchor": "middle", transform: "rotate(-90 12 " + (T + H - B) / 2 + ")" }, yTitle));

    let legendX = L;
    series.forEach((s, i) => {
      if (s.points.length === 0) return;
      const color = COLORS[i % COLORS.length];
      const pts = [...s.points].sort((a, b) => a[0] - b[0]);
      const path = svg("polyline", {
        points: pts.map((p) => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" "),
        fill: "none", stroke: color, "stroke-width": 2, "stroke-dasharray": s.dashed ? "6 4" : "none",
      });
      path.dataset.series = s.label;
      root.append(path);
      for (const p of pts) {
        const dot = svg("circle", { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 3.5, fill: color });
        dot.append(svg("title", {}, s.label + ": round " + p[0] + ", " + label(p[1])));
        root.append(dot);
      }
      root.append(svg("rect", { x: legendX, y: H - 16, width: 12, height: 4, fill: color }));
      const text = svg("text", { x: legendX + 16, y: H - 11 }, s.label);
      root.append(text);
      legendX += 28 + s.label.length * 6.2;
    });
  }

  $("home").href = location.pathname + (code ? "?code=" + encodeURIComponent(code) : "");
  if (runId) {
    $("run-view").hidden = false;
    pollRun();
  } else {
    $("title").textContent = "runs";
    showRuns();
  }
})();
