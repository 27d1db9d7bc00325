// v2c-solar dashboard: reads the JSON API, renders the home, the chargers, the plan chart,
// each car's stored least-cost plan, the decisions and the sessions, and sends the two writes (policy, target) with the
// bearer token the user typed once (kept in sessionStorage, gone with the tab).
// Live updates: server-sent events on /api/events when the server has them, else polling.
// Every call is for the home the page's URL selects (`?account=&site=`, site.js).

import { offerSites, scoped } from "./site.js";

const POLL_MS = 3000;
const SLOW_REFRESH_MS = 10000; // plan and sessions change slowly: re-read at most this often
const TOKEN_KEY = "v2c-solar-token";
const DECISIONS_SHOWN = 30;

const $ = (selector, root = document) => root.querySelector(selector);

// ----- formatting (SI inside, kW / kWh / % on the page) -----------------------------------

function kw(watts) {
  return watts == null ? "—" : `${(watts / 1000).toFixed(watts >= 10000 ? 1 : 2)} kW`;
}

function kwh(wattHours) {
  return wattHours == null ? "—" : `${(wattHours / 1000).toFixed(2)} kWh`;
}

function amps(current) {
  return current == null ? "—" : `${current.toFixed(current % 1 ? 1 : 0)} A`;
}

function percent(fraction) {
  return fraction == null || !Number.isFinite(fraction) ? "—" : `${Math.round(100 * fraction)} %`;
}

function money(value) {
  return value == null ? "—" : value.toFixed(2);
}

function clockTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function dayTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString([], {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

// ----- the API -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) throw new ApiError(response.status, `${path}: ${await errorLine(response)}`);
  return response.json();
}

/** The one line a refused write shows: the server's own words when it gave any. */
async function errorLine(response) {
  let detail = "";
  try {
    const body = await response.json();
    detail = body.detail ?? body.error ?? body.message ?? JSON.stringify(body);
    if (typeof detail !== "string") detail = JSON.stringify(detail);
  } catch {
    detail = response.statusText;
  }
  const what = { 401: "wrong token", 403: "writes are off", 422: "refused" }[response.status];
  return `${response.status}${what ? ` ${what}` : ""}: ${detail}`.replace(/\s+/g, " ");
}

function token() {
  let value = sessionStorage.getItem(TOKEN_KEY);
  if (!value) {
    value = (window.prompt("Token for changes (V2C_SOLAR_WEB_TOKEN on the daemon):") || "").trim();
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
  }
  return value;
}

async function postJson(path, body) {
  const secret = token();
  if (!secret) throw new ApiError(0, "no token given: nothing sent");
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${secret}` },
    body: JSON.stringify(body),
  });
  if (response.status === 401) sessionStorage.removeItem(TOKEN_KEY); // ask again next time
  if (!response.ok) throw new ApiError(response.status, await errorLine(response));
  return response.status === 204 ? null : response.json().catch(() => null);
}

// ----- the home and the budget ------------------------------------------------------------------

function renderSite(status) {
  setText($("#clock"), dayTime(status.time));
  setText($("#pv"), kw(status.pv_w));
  setText($("#house"), kw(status.house_w));
  setText($("#policy"), status.policy ?? "—");
  const used = status.calls_today ?? 0;
  const left = status.calls_left ?? 0;
  setText($("#calls-used"), String(used));
  setText($("#calls-left"), String(left));
  setText($("#planned-reads"), status.planned_reads == null ? "—" : String(status.planned_reads));
  setText($("#commands"), status.commands_sent == null ? "—" : String(status.commands_sent));
  const share = used + left > 0 ? used / (used + left) : 0;
  $("#budget-used-bar").style.width = `${(100 * share).toFixed(1)}%`;
  $("#budget-bar").setAttribute("aria-label", `${used} calls used, ${left} left`);
  const errors = Object.entries(status.errors_by_kind ?? {}).filter(([, n]) => n > 0);
  setText($("#errors"), errors.length ? `errors: ${errors.map(([k, n]) => `${k} ${n}`).join(", ")}` : "");
  const fatal = $("#fatal");
  fatal.hidden = !status.fatal;
  setText(fatal, status.fatal ?? "");
  fillSelect($("#policy-select"), status.policies ?? [], status.policy);
  fillSelect($("#target-device"), (status.chargers ?? []).map((c) => c.device_id));
}

/** Keep a select's options in step with `values` without losing what the user picked. */
function fillSelect(select, values, selected) {
  const current = [...select.options].map((o) => o.value);
  if (current.join("\n") !== values.join("\n")) {
    const keep = select.value;
    select.replaceChildren(...values.map((v) => new Option(v, v)));
    select.value = values.includes(keep) ? keep : (selected ?? values[0] ?? "");
  }
  if (selected && document.activeElement !== select && !select.dataset.touched) {
    select.value = selected;
  }
}

// ----- the chargers ----------------------------------------------------------------------------

/** The element `#${prefix}-${deviceId}`, made from the template `#${template}` into
 * `container` the first time a charger is seen. */
function deviceElement(prefix, template, container, deviceId) {
  const id = `${prefix}-${deviceId}`;
  let element = document.getElementById(id);
  if (!element) {
    element = $(`#${template}`).content.firstElementChild.cloneNode(true);
    element.id = id;
    element.dataset.deviceId = deviceId;
    $(container).append(element);
  }
  return element;
}

function chargerCard(deviceId) {
  return deviceElement("charger", "charger-card", "#chargers", deviceId);
}

function renderCharger(charger) {
  const card = chargerCard(charger.device_id);
  setText($(".device-id", card), charger.device_id);
  setText($(".name", card), charger.name ?? "");
  const state = $(".state", card);
  state.dataset.state = charger.state ?? "";
  setText(state, charger.paused ? `${charger.state}, paused` : (charger.state ?? ""));
  setText($(".pv-mode", card), charger.pv_mode ? `PV mode: ${charger.pv_mode}` : "");
  setText($(".setpoint", card), charger.setpoint_a != null ? `set ${amps(charger.setpoint_a)}` : "");
  setText($(".power", card), kw(charger.power_w));
  setText($(".current", card), amps(charger.current_a));
  setText($(".session", card), kwh(charger.session_energy_wh));
  const energy = charger.session_energy_wh;
  const solarShare = energy > 0 && charger.session_solar_wh != null
    ? charger.session_solar_wh / energy : null;
  setText($(".solar-share", card), percent(solarShare));
  $(".share-bar .solar", card).style.width = `${(100 * (solarShare ?? 0)).toFixed(1)}%`;
  const target = charger.target_wh != null
    ? `target ${kwh(charger.target_wh)} by ${dayTime(charger.departure)}` : "";
  setText($(".target", card), target);
  const last = charger.last_decision;
  setText($(".last-decision", card), last ? `${clockTime(last.time)} ${last.reason}` : "");
}

function renderChargers(status) {
  const ids = new Set();
  for (const charger of status.chargers ?? []) {
    ids.add(charger.device_id);
    renderCharger(charger);
  }
  for (const card of $("#chargers").children) {
    if (!ids.has(card.dataset.deviceId)) card.remove();
  }
}

// ----- the decisions ------------------------------------------------------------------------------

function decisionItem(decision) {
  const item = document.createElement("li");
  const when = Object.assign(document.createElement("span"), { className: "when" });
  when.textContent = `${clockTime(decision.time)} ${decision.device_id}`;
  const what = Object.assign(document.createElement("span"), { className: "what" });
  what.textContent = decision.current_a != null
    ? `${decision.mode} ${amps(decision.current_a)}` : decision.mode;
  if (decision.import_eur_per_kwh != null) {
    what.textContent += ` @ ${decision.import_eur_per_kwh.toFixed(3)} EUR/kWh`;
  }
  const why = Object.assign(document.createElement("span"), { className: "why" });
  why.textContent = decision.reason;
  item.append(when, what, why);
  return item;
}

function renderDecisions(decisions) {
  const list = $("#decisions");
  const shown = (decisions ?? []).slice(0, DECISIONS_SHOWN);
  const key = shown.map((d) => `${d.time}${d.device_id}`).join("|");
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...shown.map(decisionItem));
  if (!shown.length) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = "no decision yet";
    list.append(empty);
  }
}

// ----- the sessions -------------------------------------------------------------------------------

function sessionRows(body) {
  return Array.isArray(body) ? body : (body.sessions ?? []);
}

function cell(text, numeric = false) {
  const td = document.createElement("td");
  td.textContent = text;
  if (numeric) td.className = "num";
  return td;
}

/** An open session with the charger's live figures: the database's row lags the status. */
function withLiveFigures(session, chargers) {
  const live = session.end ? null : chargers.find((c) => c.device_id === session.device_id);
  if (!live || live.session_energy_wh == null || live.session_solar_wh == null) return session;
  const energy = live.session_energy_wh / 1000;
  const solar = live.session_solar_wh / 1000;
  return {
    ...session,
    energy_kwh: energy,
    solar_kwh: solar,
    grid_kwh: Math.max(0, energy - solar),
    solar_share: energy > 0 ? solar / energy : null,
  };
}

let lastSessions = null;

function renderSessions(body, chargers) {
  const rows = sessionRows(body)
    .map((s) => withLiveFigures(s, chargers))
    .sort((a, b) => (a.start < b.start ? 1 : -1));
  const tbody = $("#sessions tbody");
  tbody.replaceChildren(...rows.map((s) => {
    const tr = document.createElement("tr");
    const share = s.solar_share ?? (s.energy_kwh > 0 ? s.solar_kwh / s.energy_kwh : null);
    tr.append(
      cell(s.device_id),
      cell(`${dayTime(s.start)}${s.end ? "" : " (open)"}`),
      cell(s.energy_kwh == null ? "—" : s.energy_kwh.toFixed(2), true),
      cell(percent(share), true),
      cell(s.grid_kwh == null ? "—" : s.grid_kwh.toFixed(2), true),
      cell(money(s.cost), true),
      cell(money(s.saving ?? null), true),
    );
    return tr;
  }));
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = cell("no session recorded yet");
    td.colSpan = 7;
    td.className = "empty";
    tr.append(td);
    tbody.append(tr);
  }
}

// ----- the plan chart (uPlot) ---------------------------------------------------------------------

const seenPv = new Map(); // unix s -> PV W seen in the status, drawn as "measured"

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function unix(iso) {
  return Math.round(new Date(iso).getTime() / 1000);
}

/** The forecast as rows {t, central, low, clear}: its slots, or its arrays on a grid. */
function forecastRows(plan) {
  const forecast = plan.forecast ?? null;
  if (!forecast) return [];
  if (Array.isArray(forecast.slots)) {
    return forecast.slots.map((slot) => ({
      t: unix(slot.start),
      central: slot.central_w,
      low: slot.pessimistic_w ?? null,
      clear: slot.clear_sky_w ?? null,
    }));
  }
  const start = unix(forecast.start);
  return (forecast.central_w ?? []).map((central, i) => ({
    t: start + i * forecast.step_s,
    central,
    low: forecast.pessimistic_w?.[i] ?? null,
    clear: forecast.clear_sky_w?.[i] ?? null,
  }));
}

/** The stored least-cost plans' slots as steps {t, ...value(slot)}, summed over the
 * chargers by `add`, ending with `end` at the last slot's end (nothing planned after). */
function plannedSteps(plan, value, add, end) {
  const byTime = new Map();
  let last = null;
  for (const goal of plan.chargers ?? []) {
    const stored = goal.least_cost;
    if (!stored) continue;
    const stepS = stored.step_s ?? 900;
    for (const slot of stored.slots) {
      const t = unix(slot.start);
      byTime.set(t, byTime.has(t) ? add(byTime.get(t), value(slot, stepS)) : value(slot, stepS));
      last = Math.max(last ?? t, t + stepS);
    }
  }
  const rows = [...byTime].sort((a, b) => a[0] - b[0]).map(([t, v]) => ({ t, ...v }));
  if (last != null && !byTime.has(last)) rows.push({ t: last, ...end });
  return rows;
}

/** The import price per kWh the plans were made with, as a step function {t, price}. */
function priceRows(plan) {
  return plannedSteps(plan, (slot) => ({ price: slot.import_eur_per_kwh }), (a) => a, { price: null });
}

/** The cars' planned charging power (W, every charger's summed) per slot {t, w}. */
function chargeRows(plan) {
  const power = (slot, stepS) => ({ w: ((slot.grid_wh + slot.solar_wh) * 3600) / stepS });
  return plannedSteps(plan, power, (a, b) => ({ w: a.w + b.w }), { w: 0 });
}

function nearestBefore(rows, t, key) {
  let value = null;
  for (const row of rows) {
    if (row.t > t) break;
    value = row[key];
  }
  return value;
}

/** PV seen in the status, averaged onto the forecast's grid (extended into the past). */
function measuredOnGrid(forecast) {
  if (forecast.length < 2) return new Map(seenPv);
  const start = forecast[0].t;
  const step = forecast[1].t - start;
  const sums = new Map();
  for (const [t, w] of seenPv) {
    const slot = start + Math.floor((t - start) / step) * step;
    const [sum, n] = sums.get(slot) ?? [0, 0];
    sums.set(slot, [sum + w, n + 1]);
  }
  return new Map([...sums].map(([t, [sum, n]]) => [t, sum / n]));
}

function chartData(plan) {
  const forecast = forecastRows(plan);
  const prices = priceRows(plan);
  const charging = chargeRows(plan);
  const measured = measuredOnGrid(forecast);
  const times = [...new Set([
    ...forecast.map((r) => r.t), ...prices.map((r) => r.t), ...charging.map((r) => r.t),
    ...measured.keys(),
  ])].sort((a, b) => a - b);
  const byTime = new Map(forecast.map((r) => [r.t, r]));
  const kwOf = (w) => (w == null ? null : w / 1000);
  const hasPrices = prices.some((p) => p.price != null);
  const hasCharging = charging.some((p) => p.w != null);
  return {
    hasPrices,
    hasCharging,
    data: keepPresent([
      times,
      times.map((t) => kwOf(byTime.get(t)?.central)),
      times.map((t) => kwOf(byTime.get(t)?.low)),
      times.map((t) => kwOf(byTime.get(t)?.clear)),
      times.map((t) => kwOf(measured.get(t))),
      times.map((t) => (charging.length ? kwOf(nearestBefore(charging, t, "w")) : null)),
      times.map((t) => (prices.length ? nearestBefore(prices, t, "price") : null)),
    ], { hasPrices, hasCharging }),
  };
}

/** Drop the car-plan and price columns (data or series) when the plan has none. */
function keepPresent(columns, { hasPrices, hasCharging }) {
  const keep = [true, true, true, true, true, hasCharging, hasPrices];
  return columns.filter((_, i) => keep[i]);
}

let nowMark = null; // unix s of the daemon's clock, drawn as a vertical line

/** uPlot hook: a thin vertical line at the daemon's "now". */
function drawNow(u) {
  if (nowMark == null) return;
  const x = Math.round(u.valToPos(nowMark, "x", true));
  if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
  const ctx = u.ctx;
  ctx.save();
  ctx.strokeStyle = cssVar("--muted");
  ctx.setLineDash([3, 3]);
  ctx.lineWidth = window.devicePixelRatio || 1;
  ctx.beginPath();
  ctx.moveTo(x, u.bbox.top);
  ctx.lineTo(x, u.bbox.top + u.bbox.height);
  ctx.stroke();
  ctx.restore();
}

let chart = null;
let chartShape = "";

function chartOptions(width, { hasPrices, hasCharging }) {
  const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--line"), width: 1 }, ticks: { stroke: cssVar("--line") } };
  const steps = window.uPlot.paths.stepped({ align: 1 });
  return {
    width,
    height: Math.max(220, Math.min(340, Math.round(width * 0.45))),
    scales: { x: { time: true }, kW: { range: (u, min, max) => [0, Math.max(1, max * 1.08)] } },
    series: keepPresent([
      {},
      { label: "PV forecast", scale: "kW", stroke: cssVar("--pv"), width: 2, value: (u, v) => (v == null ? "—" : `${v.toFixed(2)} kW`) },
      { label: "pessimistic (low quantile)", scale: "kW", stroke: cssVar("--pv"), width: 1, dash: [4, 4], value: (u, v) => (v == null ? "—" : `${v.toFixed(2)} kW`) },
      { label: "clear sky", scale: "kW", stroke: cssVar("--grid"), width: 1, dash: [2, 6], value: (u, v) => (v == null ? "—" : `${v.toFixed(2)} kW`) },
      { label: "PV measured", scale: "kW", stroke: cssVar("--accent"), width: 2, spanGaps: true, points: { show: false }, value: (u, v) => (v == null ? "—" : `${v.toFixed(2)} kW`) },
      { label: "car plan", scale: "kW", stroke: cssVar("--car"), width: 2, paths: steps, value: (u, v) => (v == null ? "—" : `${v.toFixed(2)} kW`) },
      { label: "price", scale: "price", stroke: cssVar("--price"), width: 1.5, paths: steps, value: (u, v) => (v == null ? "—" : `${v.toFixed(3)}/kWh`) },
    ], { hasPrices, hasCharging }),
    bands: [{ series: [1, 2], fill: cssVar("--pv-band") }],
    axes: [
      { ...axis },
      { ...axis, scale: "kW", label: "kW", size: 48 },
      ...(hasPrices ? [{ ...axis, scale: "price", side: 1, label: "price / kWh", grid: { show: false } }] : []),
    ],
    legend: { live: true },
    hooks: { draw: [drawNow] },
  };
}

function renderPlan(plan) {
  const target = $("#plan-chart");
  if (!window.uPlot) return; // the deferred library is not there yet: next refresh draws
  const prepared = chartData(plan);
  const width = Math.max(280, target.clientWidth);
  const shape = `${prepared.hasPrices}|${prepared.hasCharging}|${matchMedia("(prefers-color-scheme: dark)").matches}`;
  if (!chart || chartShape !== shape) {
    chart?.destroy();
    chart = new window.uPlot(chartOptions(width, prepared), prepared.data, target);
    chartShape = shape;
  } else {
    chart.setData(prepared.data);
  }
  setText($("#plan-note"), planNote(plan, prepared));
}

/** Under the chart: each charger's goal and what the policy expects, and what is missing. */
function planNote(plan, prepared) {
  const notes = [];
  for (const goal of plan.chargers ?? []) {
    const parts = [goal.device_id];
    if (goal.target_wh != null) {
      parts.push(`${kwh(goal.target_wh)}${goal.departure ? ` by ${dayTime(goal.departure)}` : ""}`);
    }
    if (goal.solar_expected_wh != null) parts.push(`sun (pessimistic) ${kwh(goal.solar_expected_wh)}`);
    if (goal.expects) parts.push(goal.expects);
    notes.push(parts.join(": "));
  }
  if (!plan.forecast) notes.push("no forecast yet");
  if (!prepared.hasPrices) notes.push("no least-cost plan: no prices or car power drawn");
  return notes.join(" · ");
}

function resizeChart() {
  for (const [deviceId, { chart: planChart }] of planCharts) {
    const width = Math.max(280, $(".plan-chart", planArticle(deviceId)).clientWidth);
    planChart.setSize({ width, height: Math.max(180, Math.min(260, Math.round(width * 0.35))) });
  }
  if (!chart) return;
  const width = Math.max(280, $("#plan-chart").clientWidth);
  chart.setSize({ width, height: Math.max(220, Math.min(340, Math.round(width * 0.45))) });
}

// ----- the stored least-cost plans (uPlot, one chart per charger) ----------------------------------

const planCharts = new Map(); // device id -> {chart, key}

function planArticle(deviceId) {
  return deviceElement("charge-plan", "charge-plan", "#charge-plans", deviceId);
}

/** The plan's slots that end after `nowIso` (the daemon's clock): what is left to departure. */
function slotsAhead(stored, nowIso) {
  const now = nowIso ? new Date(nowIso).getTime() : -Infinity;
  const stepMs = 1000 * (stored.step_s ?? 900);
  return stored.slots.filter((slot) => new Date(slot.start).getTime() + stepMs > now);
}

/** uPlot columns: time, grid + sun kW (drawn behind), grid kW, price; one extra point at
 * the last slot's end so the stepped paths draw the last slot too. */
function planColumns(slots, stepS) {
  const perKw = 3.6 / stepS; // Wh in a slot of stepS s -> mean kW
  const rows = slots.map((s) => [unix(s.start), (s.grid_wh + s.solar_wh) * perKw, s.grid_wh * perKw, s.import_eur_per_kwh]);
  const last = rows[rows.length - 1];
  rows.push([last[0] + stepS, ...last.slice(1)]);
  return [0, 1, 2, 3].map((i) => rows.map((row) => row[i]));
}

function planChartOptions(width, sunOf) {
  const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--line"), width: 1 }, ticks: { stroke: cssVar("--line") } };
  const steps = window.uPlot.paths.stepped({ align: 1 });
  const kwText = (v) => (v == null ? "—" : `${v.toFixed(2)} kW`);
  return {
    width,
    height: Math.max(180, Math.min(260, Math.round(width * 0.35))),
    scales: { x: { time: true }, kW: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    series: [
      {},
      { label: "sun", scale: "kW", stroke: cssVar("--pv"), fill: cssVar("--pv-band"), width: 1, paths: steps, points: { show: false }, value: (u, v, si, i) => (i == null ? "—" : kwText(sunOf(i))) },
      { label: "grid", scale: "kW", stroke: cssVar("--grid"), fill: cssVar("--grid"), width: 1, paths: steps, points: { show: false }, value: (u, v) => kwText(v) },
      { label: "price", scale: "price", stroke: cssVar("--price"), width: 1.5, paths: steps, points: { show: false }, value: (u, v) => (v == null ? "—" : `${v.toFixed(3)} EUR/kWh`) },
    ],
    axes: [
      { ...axis },
      { ...axis, scale: "kW", label: "kW", size: 48 },
      { ...axis, scale: "price", side: 1, label: "EUR/kWh", grid: { show: false }, size: 56 },
    ],
    legend: { live: true },
    hooks: { draw: [drawNow] },
  };
}

function drawPlanChart(article, deviceId, slots, stepS, key) {
  const target = $(".plan-chart", article);
  const kept = planCharts.get(deviceId);
  if (!window.uPlot || (kept && kept.key === key)) return;
  kept?.chart.destroy();
  const data = planColumns(slots, stepS);
  const sunOf = (i) => data[1][i] - data[2][i];
  const width = Math.max(280, target.clientWidth);
  const chart = new window.uPlot(planChartOptions(width, sunOf), data, target);
  target.dataset.slots = String(slots.length);
  planCharts.set(deviceId, { chart, key });
}

function slotRow(slot, stepS) {
  const tr = document.createElement("tr");
  const kwMean = ((slot.grid_wh + slot.solar_wh) * 3.6) / stepS;
  tr.append(
    cell(clockTime(slot.start)),
    cell(slot.mode === "fixed" ? `grid ${amps(slot.current_a)}` : slot.mode),
    cell(kwMean.toFixed(2), true),
    cell((slot.grid_wh / 1000).toFixed(2), true),
    cell((slot.solar_wh / 1000).toFixed(2), true),
    cell(slot.import_eur_per_kwh.toFixed(3), true),
    cell(slot.cost_eur.toFixed(3), true),
  );
  return tr;
}

/** One charger's plan: its figures, its chart and its slots to departure, or why it has none. */
function renderChargePlan(goal, nowIso) {
  const article = planArticle(goal.device_id);
  setText($(".device-id", article), goal.device_id);
  const stored = goal.least_cost;
  const slots = stored ? slotsAhead(stored, nowIso) : [];
  let empty = goal.no_plan ?? (stored ? "" : "no plan");
  if (stored && !slots.length) empty = `no plan: the last one ran out at ${dayTime(stored.deadline)}`;
  setText($(".plan-empty", article), empty);
  if (empty) {
    article.dataset.empty = "1";
    planCharts.get(goal.device_id)?.chart.destroy();
    planCharts.delete(goal.device_id);
    return;
  }
  delete article.dataset.empty;
  const wanted = goal.target_wh ?? stored.energy_wanted_wh;
  setText($(".plan-target", article), `${kwh(wanted)} by ${dayTime(goal.departure ?? stored.departure)}`);
  setText($(".plan-cost", article), `${money(stored.cost_eur)} EUR`);
  setText($(".plan-energy", article), `${kwh(stored.grid_wh)} / ${kwh(stored.solar_wh)}`);
  setText($(".plan-replan", article), `${dayTime(stored.created_at)} (${stored.reason})`);
  const short = stored.shortfall_wh > 0 ? `short by ${kwh(stored.shortfall_wh)}: out of reach by departure` : "";
  setText($(".plan-short", article), short);
  const stepS = stored.step_s ?? 900;
  const key = `${stored.created_at}|${slots.length}|${matchMedia("(prefers-color-scheme: dark)").matches}`;
  const tbody = $(".plan-slots tbody", article);
  if (tbody.dataset.key !== key) {
    tbody.dataset.key = key;
    tbody.replaceChildren(...slots.map((slot) => slotRow(slot, stepS)));
    setText($(".plan-slots summary", article), `${slots.length} slots to departure`);
  }
  drawPlanChart(article, goal.device_id, slots, stepS, key);
}

function renderChargePlans(plan) {
  const ids = new Set();
  const container = $("#charge-plans");
  for (const placeholder of container.querySelectorAll(":scope > p")) placeholder.remove();
  for (const goal of plan.chargers ?? []) {
    ids.add(goal.device_id);
    renderChargePlan(goal, plan.time);
  }
  for (const article of [...container.children]) {
    if (!ids.has(article.dataset.deviceId)) {
      planCharts.get(article.dataset.deviceId)?.chart.destroy();
      planCharts.delete(article.dataset.deviceId);
      article.remove();
    }
  }
  if (!ids.size) {
    const none = Object.assign(document.createElement("p"), { className: "muted small" });
    none.textContent = "no plan: no charger in the daemon's plan";
    container.append(none);
  }
}

// ----- refresh loop ---------------------------------------------------------------------------------

let lastPlan = null;
let lastChargers = [];
let slowAt = 0;

function setLink(state, text) {
  const link = $("#link");
  link.dataset.state = state;
  setText(link, text);
}

function rememberPv(status) {
  if (!status.time) return;
  nowMark = unix(status.time);
  if (status.pv_w == null) return;
  seenPv.set(nowMark, status.pv_w);
  for (const t of seenPv.keys()) if (t < nowMark - 86400) seenPv.delete(t);
}

function renderStatus(status) {
  renderSite(status);
  renderChargers(status);
  renderDecisions(status.decisions);
  offerDeparture(status);
  rememberPv(status);
  lastChargers = status.chargers ?? [];
  if (lastPlan) {
    renderPlan(lastPlan);
    renderChargePlans(lastPlan);
  }
  if (lastSessions) renderSessions(lastSessions, lastChargers);
}

async function refreshSlow(force = false) {
  if (!force && Date.now() - slowAt < SLOW_REFRESH_MS) return;
  slowAt = Date.now();
  const [plan, sessions] = await Promise.allSettled([getJson(scoped("/api/plan")), getJson(scoped("/api/sessions"))]);
  if (plan.status === "fulfilled") {
    lastPlan = plan.value;
    renderPlan(lastPlan);
    renderChargePlans(lastPlan);
  } else {
    setText($("#plan-note"), `plan unavailable (${plan.reason.message})`);
  }
  if (sessions.status === "fulfilled") {
    lastSessions = sessions.value;
    renderSessions(lastSessions, lastChargers);
  }
}

async function poll() {
  try {
    renderStatus(await getJson(scoped("/api/status")));
    setLink("live", "live");
    await refreshSlow();
  } catch (error) {
    setLink("lost", `no answer (${error.message})`);
  }
  window.setTimeout(poll, POLL_MS);
}

/** Server-sent events when /api/events exists; the first error falls back to polling. */
function listen() {
  if (!window.EventSource) return poll();
  const source = new EventSource(scoped("/api/events"));
  let opened = false;
  source.addEventListener("status", (event) => {
    opened = true;
    setLink("live", "live");
    renderStatus(JSON.parse(event.data));
    refreshSlow().catch(() => {});
  });
  source.onerror = () => {
    if (!opened) {
      source.close();
      poll();
    } else {
      setLink("connecting", "reconnecting");
    }
  };
}

// ----- the controls ---------------------------------------------------------------------------------

function say(kind, text) {
  const msg = $("#control-msg");
  msg.dataset.kind = kind;
  setText(msg, text.split("\n")[0]);
}

async function submit(form, send) {
  const button = $("button", form);
  button.disabled = true;
  try {
    await send();
  } catch (error) {
    say("error", error.message);
  } finally {
    button.disabled = false;
  }
}

/** The next 07:30 after the daemon's clock (simulated in the demo), as a datetime-local value. */
function defaultDeparture(nowIso) {
  const now = new Date(nowIso);
  const next = new Date(now);
  next.setHours(7, 30, 0, 0);
  if (next <= now) next.setDate(next.getDate() + 1);
  const local = new Date(next.getTime() - next.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 16);
}

/** Offer the next 07:30 until the user types a departure (and again once it has passed). */
function offerDeparture(status) {
  const input = $("#target-departure");
  if (!status.time || (input.dataset.touched && input.value)) return;
  if (!input.value || new Date(input.value) <= new Date(status.time)) {
    input.value = defaultDeparture(status.time);
  }
}

function wireControls() {
  $("#policy-select").addEventListener("change", (e) => { e.target.dataset.touched = "1"; });
  $("#target-departure").addEventListener("input", (e) => { e.target.dataset.touched = "1"; });
  $("#policy-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("#policy-select").value;
    submit(event.target, async () => {
      await postJson(scoped("/api/policy"), { name });
      delete $("#policy-select").dataset.touched;
      say("ok", `policy set to ${name}`);
    });
  });
  $("#target-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const device = $("#target-device").value;
    const energyKwh = Number($("#target-kwh").value);
    const departure = new Date($("#target-departure").value);
    if (Number.isNaN(departure.getTime())) return say("error", "departure: not a date");
    submit(event.target, async () => {
      await postJson(scoped(`/api/chargers/${encodeURIComponent(device)}/target`), {
        energy_kwh: energyKwh,
        departure: departure.toISOString(),
      });
      say("ok", `${device}: ${energyKwh} kWh by ${dayTime(departure.toISOString())}`);
      refreshSlow(true).catch(() => {});
    });
  });
}

wireControls();
window.addEventListener("resize", resizeChart);
offerSites($("#site-pick"), $("#site-picker"), getJson).catch(() => {});
listen();
