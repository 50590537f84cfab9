// warden-web's dashboard: the process table, live through the events stream (SSE), with
// start/stop/restart buttons and a log view that follows a process. Plain JavaScript, no
// framework, no build step; it uses only the JSON API (docs/web.md).
"use strict";

const api = "api/v1/";
let csrfToken = "";
let refreshTimer = null;
let logSource = null;
// Processes wardend refused an action on for this user (403): their buttons are disabled, so
// the page offers only what the user may do.
const refused = new Set();

function $(selector) { return document.querySelector(selector); }

function showMessage(text) {
  const box = $("#message");
  box.textContent = text;
  box.hidden = !text;
}

function uptime(seconds) {
  const total = Math.floor(seconds);
  const days = Math.floor(total / 86400);
  const rest = total % 86400;
  const hms = Math.floor(rest / 3600) + ":" + String(Math.floor(rest / 60) % 60).padStart(2, "0") +
      ":" + String(rest % 60).padStart(2, "0");
  return days ? days + (days === 1 ? " day, " : " days, ") + hms : hms;
}

function bytes(n) {
  if (n < 1024) return n + "B";
  const units = "KMGTP";
  let value = n / 1024, unit = 0;
  while (Math.round(value * 10) >= 10240 && unit + 1 < units.length) { value /= 1024; unit++; }
  return value.toFixed(1) + units[unit];
}

function live(p) { return p.pid !== null; }

function cell(row, className, text) {
  const td = document.createElement("td");
  td.className = className;
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function button(cellNode, action, name, label) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = action;
  b.textContent = label;
  if (action !== "log" && refused.has(name)) {
    b.disabled = true;
    b.title = "wardend does not let this user control " + name;
  }
  b.addEventListener("click", () => act(action, name, b));
  cellNode.appendChild(b);
}

function render(processes) {
  const body = $("#processes tbody");
  const rows = [];
  for (const p of processes) {
    const row = document.createElement("tr");
    row.dataset.name = p.name;
    row.dataset.state = p.state;
    cell(row, "name", p.name);
    cell(row, "state state-" + p.state, p.state);
    cell(row, "pid num", p.pid === null ? "" : String(p.pid));
    cell(row, "uptime num", live(p) ? uptime(p.uptime_s) : "");
    cell(row, "restarts num", String(p.restarts));
    cell(row, "cpu num", live(p) && p.uptime_s > 0
        ? (100 * p.cpu_time_s / p.uptime_s).toFixed(1) + "%" : "");
    cell(row, "memory num", live(p) && p.rss_bytes ? bytes(p.rss_bytes) : "");
    cell(row, "description", p.description);
    const actions = cell(row, "actions", "");
    if (live(p)) {
      button(actions, "stop", p.name, "Stop");
      button(actions, "restart", p.name, "Restart");
    } else {
      button(actions, "start", p.name, "Start");
    }
    button(actions, "log", p.name, "Log");
    rows.push(row);
  }
  body.replaceChildren(...rows);
}

async function refresh() {
  refreshTimer = null;
  try {
    const res = await fetch(api + "processes", { headers: { Accept: "application/json" } });
    const json = await res.json();
    if (!res.ok) throw new Error(json.message || res.statusText);
    render(json);
    $("#processes").dataset.loaded = "1";
  } catch (e) {
    showMessage("cannot read the processes: " + e.message);
  }
}

function scheduleRefresh(delay) {
  if (refreshTimer === null) refreshTimer = setTimeout(refresh, delay);
}

async function fetchCsrfToken() {
  const res = await fetch(api + "csrf");
  csrfToken = (await res.json()).csrf_token || "";
}

function post(path) {
  return fetch(path, {
    method: "POST",
    headers: { "X-CSRF-Token": csrfToken, Accept: "application/json" },
  });
}

async function act(action, name, b) {
  if (action === "log") { follow(name); return; }
  b.disabled = true;
  showMessage("");
  try {
    const path = api + "processes/" + encodeURIComponent(name) + "/" + action;
    let res = await post(path);
    let json = await res.json();
    if (res.status === 403 && !Array.isArray(json) && /X-CSRF-Token/.test(json.message)) {
      // warden-web restarted since the page loaded: its token is new.
      await fetchCsrfToken();
      res = await post(path);
      json = await res.json();
    }
    if (res.status === 403 && !/X-CSRF-Token/.test(JSON.stringify(json))) refused.add(name);
    if (!res.ok) {
      const failed = Array.isArray(json) ? json.filter(r => !r.ok) : [json];
      showMessage(failed.map(r => (r.name ? r.name + ": " : "") + (r.error || "") +
                                  (r.message ? " (" + r.message + ")" : "")).join("; "));
    }
  } catch (e) {
    showMessage(action + " " + name + ": " + e.message);
  }
  await refresh();
}

function follow(name) {
  if (logSource) logSource.close();
  const pre = $("#log");
  pre.textContent = "";
  $("#log-name").textContent = name;
  $("#log-stream").textContent = "(stdout)";
  $("#log-view").hidden = false;
  logSource = new EventSource(api + "processes/" + encodeURIComponent(name) +
                              "/log?follow=1&lines=100");
  logSource.addEventListener("log", e => {
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.append(JSON.parse(e.data));
    if (pre.textContent.length > 1000000) pre.textContent = pre.textContent.slice(-500000);
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  });
  logSource.addEventListener("error", e => {
    if (e.data) pre.append("\n[" + JSON.parse(e.data).message + "]\n");
  });
  logSource.addEventListener("end", () => { logSource.close(); pre.append("\n[end of log]\n"); });
}

function subscribe() {
  const events = new EventSource(api + "events");
  events.onopen = () => { $("#live").className = "live on"; $("#live").textContent = "live"; };
  events.onmessage = () => scheduleRefresh(50);
  events.onerror = () => {
    $("#live").className = "live off";
    $("#live").textContent = "reconnecting";
  };
}

async function start() {
  $("#log-close").addEventListener("click", () => {
    if (logSource) logSource.close();
    logSource = null;
    $("#log-view").hidden = true;
  });
  try {
    await fetchCsrfToken();
  } catch (e) {
    showMessage("cannot reach warden-web: " + e.message);
  }
  $("#daemon").textContent = location.host;
  subscribe();
  await refresh();
  // Uptime and CPU move without state changes: a slow tick keeps them current.
  setInterval(() => scheduleRefresh(0), 5000);
}

start();
