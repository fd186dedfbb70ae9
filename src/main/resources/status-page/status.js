// The status page: fetches data.json from the daemon and renders it. Plain DOM calls, no framework and no build
// step; every text from the daemon goes in through textContent, because fragment errors quote operators' files.
"use strict";

const REFRESH_MS = 10000;
const DAY_MS = 24 * 3600 * 1000;
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c === null || c === undefined ? "" : c);
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function badge(state) {
  return el("span", { class: "state state-" + String(state).replace(/[^a-z-]/g, "") }, state);
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function fill(section, rows) {
  const body = document.querySelector("#" + section + " tbody");
  body.replaceChildren(...rows);
}

function renderSummary(data) {
  const s = data.status;
  const h = data.haproxy || {};
  const version = (h.details && h.details.version) || "";
  document.getElementById("summary").textContent =
    "Config generation " + s.configGeneration + " assembled, " + s.liveGeneration + " live · " +
    (h.up ? "haproxy " + version + " up" : "haproxy DOWN") + " · " +
    (s.reloadPending ? "a reload is pending (next at " + when(s.nextReloadAt) + ")" : "no reload pending") +
    " · status at " + when(data.now);
}

function renderFragments(data) {
  const fragments = data.status.fragments || {};
  const order = { rejected: 0, pending: 1, assembled: 2, live: 3, removed: 4 };
  const names = Object.keys(fragments).sort((a, b) =>
    ((order[fragments[a].state] ?? 9) - (order[fragments[b].state] ?? 9)) || a.localeCompare(b));
  fill("fragments", names.map(name => {
    const f = fragments[name];
    const domains = (data.domains || {})[name] || [];
    return el("tr", { "data-fragment": name, "data-state": f.state },
      el("td", {}, name), el("td", {}, badge(f.state)), el("td", {}, String(f.generation)),
      el("td", {}, domains.join(", ")), el("td", {}, when(f.updatedAt)));
  }));
  const rejections = names.filter(n => fragments[n].state === "rejected" && fragments[n].error);
  document.getElementById("rejections").replaceChildren(...rejections.map(n =>
    el("div", { class: "rejection", "data-rejected": n },
      el("strong", {}, "Rejected: " + n), el("pre", {}, fragments[n].error))));
}

function certificateRows(data) {
  const certs = data.status.certificates || {};
  return Object.keys(certs).sort().map(domain => Object.assign({ domain }, certs[domain]));
}

function renderCertificateTimeline(rows, now) {
  const box = document.getElementById("cert-timeline");
  const dated = rows.filter(r => r.expires && !isNaN(new Date(r.expires)));
  if (dated.length === 0) {
    box.replaceChildren(el("p", { class: "legend" }, "No certificate with an expiry date yet."));
    return;
  }
  const horizonDays = Math.max(30, ...dated.map(r => Math.ceil((new Date(r.expires) - now) / DAY_MS)));
  const left = 220, width = 1000, rowHeight = 18, top = 20;
  const scale = days => left + Math.max(0, Math.min(days, horizonDays)) / horizonDays * (width - left - 30);
  const chart = svg("svg", { width: width, height: top + dated.length * rowHeight + 10, role: "img",
    "aria-label": "certificate expiry timeline" });
  for (let d = 0; d <= horizonDays; d += horizonDays > 120 ? 30 : 10) {
    chart.append(svg("line", { class: "axis", x1: scale(d), x2: scale(d), y1: 12, y2: top + dated.length * rowHeight }));
    chart.append(svg("text", { x: scale(d) - 8, y: 10 }, d + "d"));
  }
  dated.forEach((r, i) => {
    const y = top + i * rowHeight;
    const daysLeft = (new Date(r.expires) - now) / DAY_MS;
    const cls = daysLeft < 7 ? "bar urgent" : daysLeft < 30 ? "bar soon" : "bar";
    chart.append(svg("text", { x: 0, y: y + 12 }, r.domain));
    chart.append(svg("rect", { class: cls, x: left, y: y + 3, height: rowHeight - 6,
      width: Math.max(1, scale(daysLeft) - left) }, undefined));
    chart.lastChild.append(svg("title", {}, r.domain + ": expires " + when(r.expires) +
      " (" + Math.floor(daysLeft) + " days)"));
    if (r.nextRenewal && !isNaN(new Date(r.nextRenewal))) {
      const x = scale((new Date(r.nextRenewal) - now) / DAY_MS);
      chart.append(svg("line", { class: "renewal", x1: x, x2: x, y1: y + 1, y2: y + rowHeight - 1 }));
    }
  });
  box.replaceChildren(chart);
}

function renderCertificates(data) {
  const rows = certificateRows(data);
  renderCertificateTimeline(rows, new Date(data.now));
  fill("certificates", rows.map(r => {
    const backoff = r.backoffStep ? "step " + r.backoffStep + ", next attempt " + when(r.nextAttempt) +
      (r.lastError ? ": " + r.lastError : "") : (r.reason || "");
    return el("tr", { "data-domain": r.domain },
      el("td", {}, r.domain), el("td", {}, badge(r.state || "unknown")),
      el("td", {}, (r.certificate || "") + (r.source ? " (" + r.source + ")" : "")),
      el("td", {}, when(r.expires)), el("td", {}, when(r.nextRenewal)), el("td", {}, backoff));
  }));
}

function renderReloads(data) {
  const s = data.status;
  const reloads = data.reloads || [];
  const hours = data.reloadWindowHours || 6;
  const failed = reloads.filter(r => !r.ok).length;
  document.getElementById("reload-summary").textContent =
    reloads.length + " reloads in the last " + hours + " h (" + failed + " failed) · " + s.reloads +
    " in all, " + s.reloadsCoalesced + " requests coalesced · at most one per " +
    Math.round((data.reloadMinIntervalMillis || 0) / 1000) + " s";
  const now = new Date(data.now), width = 1000, height = 40, left = 10;
  const start = now - hours * 3600 * 1000;
  const x = t => left + (t - start) / (now - start) * (width - 2 * left);
  const chart = svg("svg", { width: width, height: height + 14, role: "img", "aria-label": "reload timeline" });
  chart.append(svg("line", { class: "axis", x1: left, x2: width - left, y1: height / 2, y2: height / 2 }));
  for (let h = 0; h <= hours; h++) {
    const t = start + h * 3600 * 1000;
    chart.append(svg("line", { class: "axis", x1: x(t), x2: x(t), y1: height / 2 - 4, y2: height / 2 + 4 }));
    chart.append(svg("text", { x: x(t) - 10, y: height + 10 }, h === hours ? "now" : "-" + (hours - h) + "h"));
  }
  for (const r of reloads) {
    const t = new Date(r.at);
    if (isNaN(t)) continue;
    const dot = svg("circle", { class: r.ok ? "reload-ok" : "reload-failed", cx: x(t), cy: height / 2, r: 5 });
    dot.append(svg("title", {}, when(r.at) + ": generation " + r.generation + (r.ok ? " ok" : " FAILED: " + r.message)));
    chart.append(dot);
  }
  document.getElementById("reload-timeline").replaceChildren(chart);
  fill("reloads", reloads.slice(-20).reverse().map(r =>
    el("tr", {}, el("td", {}, when(r.at)), el("td", {}, badge(r.ok ? "ok" : "failed")),
      el("td", {}, String(r.generation)), el("td", {}, r.message || ""))));
}

function renderHaproxy(data) {
  const h = data.haproxy || {};
  const details = h.details || {};
  document.getElementById("haproxy-summary").replaceChildren(badge(h.up ? "ok" : "down"), " ",
    h.message || "", details.uptime ? " · uptime " + details.uptime : "",
    h.processesError ? " · " + h.processesError : "");
  const p = h.processes;
  if (!p) {
    fill("haproxy", []);
    return;
  }
  const worker = role => w => el("tr", {}, el("td", {}, String(w.pid)), el("td", {}, role),
    el("td", {}, String(w.reloads)), el("td", {}, w.uptime || ""), el("td", {}, w.version || ""));
  fill("haproxy", [
    el("tr", {}, el("td", {}, String(p.masterPid)), el("td", {}, "master"),
      el("td", {}, p.reloads + (p.failedReloads ? " (" + p.failedReloads + " failed)" : "")),
      el("td", {}, ""), el("td", {}, "")),
    ...(p.workers || []).map(worker("worker")),
    ...(p.oldWorkers || []).map(worker("old worker (draining)"))]);
}

async function refresh() {
  const problem = document.getElementById("problem");
  try {
    const response = await fetch("data.json", { cache: "no-store" });
    if (!response.ok) throw new Error("data.json answered " + response.status + ": " + await response.text());
    const data = await response.json();
    renderSummary(data);
    renderFragments(data);
    renderCertificates(data);
    renderReloads(data);
    renderHaproxy(data);
    problem.hidden = true;
    document.body.dataset.state = "loaded";
  } catch (e) {
    problem.textContent = "Could not read the daemon's status: " + e.message;
    problem.hidden = false;
    document.body.dataset.state = "error";
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
