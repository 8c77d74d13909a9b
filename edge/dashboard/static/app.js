// Trackside dashboard: live state from /events (server-sent events), rendered per device.
// Plain JavaScript, no build step and no library: the page must load from a Pi offline.
"use strict";

const SHARE_ORDER = ["ok", "warn", "fault", "info", "unknown", "unreliable"];
const TABLE_ROWS = 12;
const CHART_POINTS = 120;

const app = {
  devices: new Map(),   // key -> device state (as sent by the server, then merged)
  cards: new Map(),     // key -> DOM nodes of the device's card
  columns: [],
  charts: [],
  focusable: [],  // [{cue_id, title}]: the cues a coach may pick as the runner's focus
  athletes: [],
  sessions: new Map(),  // session_id -> true when this machine has its report
  athletesWithSessions: new Set(),
  clips: [],  // pass clips kept on this machine, newest first
  auth: { password_set: false, view_needs_login: false, logged_in: false, may_command: true },
  dirty: new Set(),
  source: null,
  seenAlerts: new Set(),
};

const $ = (sel, root = document) => root.querySelector(sel);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const clock = (unix) => (unix == null) ? "" : new Date(unix * 1000)
  .toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
const fmt = (v, digits = 1) => (v === null || v === undefined || !isFinite(v)) ? "–" : Number(v).toFixed(digits);
const cssKey = (key) => key.replace(/[^A-Za-z0-9_-]/g, "_");

// --- connection ----------------------------------------------------------------------------

async function fetchAuth() {
  const r = await fetch("/api/auth", { credentials: "same-origin" });
  app.auth = await r.json();
  $("#login-open").hidden = !app.auth.password_set || app.auth.logged_in;
  $("#logout").hidden = !app.auth.logged_in;
  for (const card of app.cards.values()) updateControlsLock(card);
}

function connect() {
  if (app.source) app.source.close();
  const link = $("#link");
  const source = new EventSource("/events");
  app.source = source;
  source.addEventListener("open", () => { link.textContent = "live"; link.className = "pill live"; });
  source.addEventListener("error", () => {
    link.textContent = "reconnecting…"; link.className = "pill down";
    if (app.auth.view_needs_login) fetchAuth().then(() => { if (!app.auth.logged_in) openLogin(); });
  });
  source.addEventListener("snapshot", (e) => onSnapshot(JSON.parse(e.data)));
  for (const type of ["availability", "status", "stride", "alert", "active_alerts", "keyframe",
                      "pass", "session", "cmd_result", "device", "forget"]) {
    source.addEventListener(type, (e) => onEvent(JSON.parse(e.data)));
  }
}

function onSnapshot(snap) {
  app.columns = snap.columns;
  app.charts = snap.charts;
  app.chartLimits = snap.chart_limits || {};
  app.focusable = snap.focusable || [];
  for (const c of app.cards.values()) fillFocusChoices(c);
  app.athletes = snap.athletes || [];
  $("#athlete-names").innerHTML = app.athletes.map((a) => `<option value="${esc(a)}">`).join("");
  const keys = new Set(snap.devices.map((d) => d.key));
  for (const key of [...app.devices.keys()]) if (!keys.has(key)) forget(key);
  for (const d of snap.devices) {
    app.devices.set(d.key, d);
    for (const a of d.recent_alerts) app.seenAlerts.add(a.message_id);
    markDirty(d.key);
  }
  loadSessions();
  loadClips();
}

function blankDevice(key) {
  return { key, device_id: key.split("/").pop(), availability: null, status: null, session_id: null,
           athlete: null, focus: [], speed: null, strides: [], cues: [], counts: {},
           active_alerts: [], recent_alerts: [],
           keyframe: null, pass_summary: null, session_summary: null, cmd_results: [],
           view: null, clips: [] };
}

function onEvent(ev) {
  if (ev.type === "forget") { forget(ev.key); return; }
  let d = app.devices.get(ev.key);
  if (!d) { d = blankDevice(ev.key); app.devices.set(ev.key, d); }
  if ("session_id" in ev) {
    if (ev.session_id !== d.session_id) { d.strides = []; loadSessions(); }
    d.session_id = ev.session_id;
  }
  if ("athlete" in ev) d.athlete = ev.athlete;
  if (ev.device_id) d.device_id = ev.device_id;
  if (ev.view) d.view = ev.view;  // what the card says, made consistent by the server
  switch (ev.type) {
    case "availability": d.availability = ev.value; break;
    case "status": d.status = ev.status; break;
    case "stride":
      d.strides.push(ev.row);
      if (d.strides.length > CHART_POINTS * 3) d.strides.splice(0, d.strides.length - CHART_POINTS * 3);
      d.cues = ev.cues; d.counts = ev.counts;
      d.focus = ev.focus || []; d.speed = ev.speed || null;
      break;
    case "alert":
      d.recent_alerts.push(ev.alert);
      if (ev.alert.active && !app.seenAlerts.has(ev.alert.message_id)) notifyAlert(ev.alert);
      app.seenAlerts.add(ev.alert.message_id);
      break;
    case "active_alerts": d.active_alerts = ev.alerts; break;
    case "keyframe": d.keyframe = ev.keyframe; break;
    case "pass":
      d.pass_summary = ev.summary;
      // The clip is encoded after the pass ends: look for it again shortly.
      for (const ms of [1500, 5000, 12000]) setTimeout(loadClips, ms);
      break;
    case "session": d.session_summary = ev.summary; loadSessions(); break;
    case "cmd_result": d.cmd_results.push(ev.result); break;
  }
  markDirty(ev.key, ev.type);
}

function forget(key) {
  app.devices.delete(key);
  const card = app.cards.get(key);
  if (card) card.root.remove();
  app.cards.delete(key);
  updateEmpty();
}

// --- rendering (batched per animation frame) -------------------------------------------------

function markDirty(key, type = "all") {
  if (!app.dirty.size) requestAnimationFrame(flush);
  app.dirty.add(key + "\u0000" + type);
}

function flush() {
  const byKey = new Map();
  for (const item of app.dirty) {
    const [key, type] = item.split("\u0000");
    if (!byKey.has(key)) byKey.set(key, new Set());
    byKey.get(key).add(type);
  }
  app.dirty.clear();
  for (const [key, types] of byKey) {
    const d = app.devices.get(key);
    if (d) render(d, types);
  }
  updateEmpty();
}

function updateEmpty() {
  $("#empty").hidden = app.devices.size > 0;
  $("#devices").classList.toggle("many", app.devices.size > 1);
}

function card(d) {
  let c = app.cards.get(d.key);
  if (c) return c;
  const root = document.createElement("article");
  root.className = "device";
  root.dataset.device = d.key;
  root.id = "device-" + cssKey(d.key);
  root.innerHTML = `
    <header class="headline idle">
      <div class="hl-top"><h2 class="athlete-name">–</h2><span class="pill availability">unknown</span></div>
      <p class="hl-text">–</p>
      <p class="hl-message"></p>
      <p class="hl-meta"><span class="name"></span> · <span class="session-title"></span>
        <span class="report-link"></span></p>
    </header>
    <div class="layout">
      <section class="controls-box"><h3>Session</h3>
        <div class="controls">
          <input class="athlete" list="athlete-names" placeholder="Athlete" aria-label="Athlete"
                 maxlength="64" autocomplete="off">
          <button class="primary" data-cmd="start_session">Start session</button>
          <button class="stop" data-cmd="stop_session">Stop session</button>
        </div>
        <div class="controls confirm-stop" hidden>
          <span>Stop the session? Strides are no longer judged.</span>
          <button class="danger confirm-yes">Yes, stop</button>
          <button class="confirm-no">Keep going</button>
        </div>
        <details class="more"><summary>Focus, speed, athlete</summary>
        <div class="controls">
          <button data-cmd="select_athlete">Select athlete</button>
          <label class="field">Runner's focus
            <select class="focus" aria-label="First focus cue"></select>
            <select class="focus" aria-label="Second focus cue"></select></label>
          <button data-cmd="set_focus">Set focus</button>
          <label class="field">Speed <input class="speed" type="number" min="1" max="12" step="0.1"
                 placeholder="m/s" aria-label="Running speed in m/s"></label>
          <button data-cmd="set_speed">Set speed</button>
        </div></details>
        <p class="cmd-result" aria-live="polite"></p>
        <p class="who"></p>
      </section>
      <section class="alerts-box"><h3>Alerts</h3><ul class="alerts"></ul></section>
      <section class="cues-box"><h3>Cues</h3><div class="tiles"></div></section>
      <section class="sides-box"><h3>Left and right</h3><div class="sides"><p class="muted">Needs strides of both legs.</p></div></section>
      <section class="keyframe-box"><h3>Keyframe</h3><div class="kf"><p class="muted">No picture yet.</p></div></section>
      <section class="clip-box"><h3>The pass on video</h3><div class="clip"><p class="muted">No pass recorded yet.</p></div></section>
      <section class="charts-box"><h3>Trends</h3><div class="charts"></div></section>
      <section class="strides-box wide"><h3>Latest strides</h3>
        <div class="table-wrap"><table class="strides"><thead></thead><tbody></tbody></table></div></section>
      <section class="health-box wide"><h3>Device</h3><div class="health"></div></section>
    </div>`;
  $("#devices").appendChild(root);
  c = { root, pending: new Map() };
  for (const btn of root.querySelectorAll("button[data-cmd]")) {
    if (btn.dataset.cmd === "stop_session") continue;  // asks first
    btn.addEventListener("click", () => sendCommand(d.key, btn.dataset.cmd, c));
  }
  // Stop ends the runner's judging: a second, deliberate tap confirms it.
  const confirmBox = $(".confirm-stop", root);
  $("button.stop", root).addEventListener("click", () => { confirmBox.hidden = false; });
  $(".confirm-no", root).addEventListener("click", () => { confirmBox.hidden = true; });
  $(".confirm-yes", root).addEventListener("click", () => {
    confirmBox.hidden = true; sendCommand(d.key, "stop_session", c);
  });
  app.cards.set(d.key, c);
  fillFocusChoices(c);
  updateControlsLock(c);
  return c;
}

function fillFocusChoices(c) {
  const options = `<option value="">—</option>` + app.focusable
    .map((f) => `<option value="${esc(f.cue_id)}">${esc(f.title)}</option>`).join("");
  for (const sel of c.root.querySelectorAll("select.focus")) {
    const keep = sel.value;
    sel.innerHTML = options;
    sel.value = keep;
  }
}

function updateControlsLock(c) {
  const locked = !app.auth.may_command;
  for (const btn of c.root.querySelectorAll("button[data-cmd]")) {
    btn.title = locked ? "Log in to send commands" : "";
  }
}

function render(d, types) {
  const c = card(d);
  const all = types.has("all") || types.has("device");
  const r = c.root;
  renderHeadline(d, r);  // every change may change what the headline says
  if (all || types.has("availability") || types.has("status") || types.has("stride")
      || types.has("session")) {
    const focus = (d.focus || []).map((id) => (app.focusable.find((f) => f.cue_id === id) || { title: id }).title);
    const speed = d.speed && d.speed.mps != null ? `${fmt(d.speed.mps, 1)} m/s (${d.speed.source})` : "unknown";
    $(".who", r).innerHTML = `focus <b class="focus-now">${esc(focus.join(", ") || "stride grade")}</b> · speed <b>${esc(speed)}</b>`;
    renderHealth(d, $(".health", r));
    renderReportLink(d, $(".report-link", r));
  }
  renderAlerts(d, $(".alerts", r));
  if (all || types.has("stride") || types.has("active_alerts") || types.has("availability")) renderTiles(d, $(".tiles", r));
  if (all || types.has("stride")) {
    renderSides(d, $(".sides", r));
    renderCharts(d, $(".charts", r));
    renderTable(d, $("table.strides", r));
  }
  if (all || types.has("keyframe")) renderKeyframe(d, $(".kf", r));
  if (all || types.has("clips")) renderClip(d, c);
  if (all || types.has("cmd_result")) renderCmdResult(d, c);
}

function view(d) {
  return d.view || { online: d.availability === "online", status: d.status, alerts: d.active_alerts,
                     shown: {}, headline: null, session_seen: null };
}

function sessionTitle(d) {
  if (!d.session_id) return "no session";
  const v = view(d);
  const when = v.session_seen ? " · since " + clock(v.session_seen) : "";
  return `${d.athlete || "anonymous"}${when}`;
}

function renderHeadline(d, r) {
  const v = view(d);
  const h = v.headline || { athlete: d.athlete || "No athlete selected", text: "–", message: "",
                            tone: "idle", live: v.online, state: "" };
  const box = $(".headline", r);
  box.className = "headline " + h.tone;
  $(".athlete-name", r).textContent = h.athlete;
  const av = $(".availability", r);
  av.textContent = v.online ? "live" : (d.availability === "offline" ? "offline" : "unknown");
  av.className = "pill availability " + (v.online ? "online" : (d.availability || ""));
  r.classList.toggle("offline", !v.online);
  $(".hl-text", r).textContent = h.text;
  $(".hl-message", r).textContent = h.message + (h.value ? ` (now ${h.value})` : "");
  $(".name", r).textContent = d.device_id;
  $(".session-title", r).textContent = sessionTitle(d);
  $(".headline", r).dataset.cue = h.cue_id || "";
}

function renderHealth(d, el) {
  const s = view(d).status;
  if (!s) { el.innerHTML = `<span>no status yet</span>`; return; }
  if (s.state === "offline") { el.innerHTML = `<span>state <b>offline</b></span>`; return; }
  const parts = [
    ["state", s.state], ["fps", fmt(s.fps, 1)], ["inference", fmt(s.inference_ms, 0) + " ms"],
    ["dropped", s.dropped_frames], ["queue", s.queue_depth], ["outbox", s.outbox_depth],
  ];
  if (s.cpu_temp_c !== null && s.cpu_temp_c !== undefined) parts.push(["CPU", fmt(s.cpu_temp_c, 0) + " °C"]);
  if (s.throttled) parts.push(["throttled", "yes"]);
  el.innerHTML = parts.map(([k, v]) => `<span>${esc(k)} <b>${esc(v)}</b></span>`).join("")
    + (s.detail ? `<span>${esc(s.detail)}</span>` : "");
}

function renderReportLink(d, el) {
  const sid = d.session_id || (d.session_summary && d.session_summary.session_id);
  const links = [];
  if (sid && app.sessions.has(sid)) {
    links.push(`<a href="/report/${encodeURIComponent(sid)}" target="_blank" rel="noopener">report</a>`,
               `<a href="/report/${encodeURIComponent(sid)}.csv">CSV</a>`);
  }
  // The athlete's sessions over weeks, when this machine keeps any of them.
  if (d.athlete && app.athletesWithSessions.has(d.athlete)) {
    links.push(`<a class="progress-link" href="/progress/${encodeURIComponent(d.athlete)}" target="_blank" rel="noopener">progress</a>`);
  }
  el.innerHTML = links.length ? " · " + links.join(" · ") : "";
}

function renderAlerts(d, el) {
  // Ranked by the server as the headline ranks them; an offline device has none.
  const v = view(d);
  const alerts = v.alerts || [];
  if (!alerts.length) {
    const why = !v.online ? "Device offline: no alert." : !d.session_id ? "No session: nothing is judged."
      : "No alert raised.";
    el.innerHTML = `<li class="no-alerts">${esc(why)}</li>`; return;
  }
  el.innerHTML = alerts.map((a) => `
    <li class="alert-tile ${esc(a.verdict)}" data-cue="${esc(a.cue_id)}">
      <strong>${esc(a.title || a.cue_id)}${a.of ? ` — ${a.bad} of the last ${a.of} strides` : ""}</strong>
      <span>${esc(a.message)}</span>
      <small>${esc(a.verdict)}${a.since != null ? " · since " + clock(a.since) : ""}</small>
    </li>`).join("");
}

function renderTiles(d, el) {
  const alerting = new Set((view(d).alerts || []).map((a) => a.cue_id));
  const shown = view(d).shown || {};
  const focus = new Set(d.focus || []);
  el.innerHTML = d.cues.map((c) => {
    const n = d.counts[c.cue_id] || {};
    const total = SHARE_ORDER.reduce((sum, v) => sum + (n[v] || 0), 0);
    const share = total ? SHARE_ORDER.filter((v) => n[v])
      .map((v) => `<span class="${v}" style="width:${(100 * n[v] / total).toFixed(1)}%"></span>`).join("") : "";
    // An unreliable value is never shown as a plain number: the flag and the gate come first.
    let value = c.value === null ? (c.reason || "not measured") : (shown[c.cue_id] || `${fmt(c.value, 2)} ${c.unit}`);
    if (c.verdict === "unreliable") value = `${value} — ${c.reason}`;
    const tag = c.information_only ? `<span class="tag" title="No validated basis yet: shown, never judged">info only</span>` : "";
    const star = focus.has(c.cue_id) ? `<span class="tag focus-tag" title="The runner's focus cue">focus</span>` : "";
    return `<div class="cue-tile ${esc(c.verdict)}${alerting.has(c.cue_id) ? " alerting" : ""}${focus.has(c.cue_id) ? " focused" : ""}"
                 data-cue="${esc(c.cue_id)}" data-verdict="${esc(c.verdict)}" title="${esc(c.reason || c.message)}">
      <div class="t">${esc(c.title)} ${tag}${star}</div><div class="v">${esc(c.verdict)} · ${esc(value)}</div>
      <div class="share" title="session: ${total} strides">${share}</div></div>`;
  }).join("");
}

function renderSides(d, el) {
  const s = view(d).sides;
  if (!s) { el.innerHTML = `<p class="muted">Needs strides of both legs.</p>`; return; }
  // Over 10 % of the mean is marked (the symmetry-index bound commonly used in gait studies).
  el.innerHTML = `<table class="sides-table"><tr><th></th><th>${esc(s.names[0])}</th><th>${esc(s.names[1])}</th><th>diff</th></tr>`
    + s.rows.map((row) => {
      const diff = row.difference_percent;
      const notable = diff !== null && Math.abs(diff) > 10;
      return `<tr data-key="${esc(row.key)}"><td>${esc(row.label)} <small>${esc(row.unit)}</small></td>`
        + `<td>${fmt(row.values[0], row.digits)}</td><td>${fmt(row.values[1], row.digits)}</td>`
        + `<td class="${notable ? "warn" : ""}">${fmt(diff, 0)} %</td></tr>`;
    }).join("") + `</table>`;
}

function columnOf(key) { return app.columns.find((c) => c.key === key); }

function renderCharts(d, el) {
  const rows = d.strides.slice(-CHART_POINTS);
  el.innerHTML = app.charts.map((key) => {
    const col = columnOf(key) || { label: key, unit: "", digits: 1 };
    // Values a plausibility gate flagged stay out of the trend.
    const pts = rows.map((r, i) => [i, (r.unreliable || []).includes(key) ? null : r.values[key]])
      .filter(([, v]) => v !== null && v !== undefined);
    const last = pts.length ? pts[pts.length - 1][1] : null;
    let poly = "", lines = "", ticks = "";
    if (pts.length > 1) {
      const vs = pts.map(([, v]) => v);
      let lo = Math.min(...vs), hi = Math.max(...vs);
      const span = (hi - lo) || Math.max(1, Math.abs(hi) * 0.1);
      // The cue's warn and fault limits, drawn when they are near the data.
      const limits = (app.chartLimits[key] || []).filter(([v]) => v >= lo - span && v <= hi + span);
      for (const [v] of limits) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
      const y = (v) => (38 - 36 * (v - lo) / (hi - lo)).toFixed(2);
      const n = Math.max(rows.length - 1, 1);
      poly = pts.map(([i, v]) => `${(100 * i / n).toFixed(2)},${y(v)}`).join(" ");
      lines = limits.map(([v, level]) => `<line class="limit ${esc(level)}" x1="0" x2="100" y1="${y(v)}" y2="${y(v)}"><title>${esc(level)} limit ${fmt(v, col.digits)}</title></line>`).join("");
      ticks = `<div class="ticks"><span>${fmt(lo, col.digits)}–${fmt(hi, col.digits)} ${esc(col.unit)}</span>`
        + `<span>last ${rows.length} strides → now</span></div>`;
    }
    return `<div class="chart" data-metric="${esc(key)}"><div class="label"><span>${esc(col.label)}</span>
      <span>${fmt(last, col.digits)} ${esc(col.unit)}</span></div>
      <svg viewBox="0 0 100 40" preserveAspectRatio="none" aria-label="${esc(col.label)} trend">
      <line class="axis" x1="0" x2="0" y1="1" y2="39"/><line class="axis" x1="0" x2="100" y1="39" y2="39"/>
      ${lines}${poly ? `<polyline points="${poly}"/>` : ""}</svg>${ticks}</div>`;
  }).join("");
}

function renderTable(d, table) {
  const head = `<tr><th>#</th><th>grade</th>${app.columns.map((c) =>
    `<th title="${esc(c.key)}">${esc(c.label)}<br><small>${esc(c.unit)}</small></th>`).join("")}</tr>`;
  const thead = $("thead", table);
  if (thead.dataset.cols !== String(app.columns.length)) {
    thead.innerHTML = head; thead.dataset.cols = String(app.columns.length);
  }
  const rows = d.strides.slice(-TABLE_ROWS).reverse();
  $("tbody", table).innerHTML = rows.map((r) => {
    const why = esc((r.gate_reasons || []).join("; "));
    return `<tr data-index="${r.index}" class="${r.reliable === false ? "unreliable-row" : ""}">
    <td>${r.index}</td><td class="grade-${esc(r.grade)}" title="${r.reliable === false ? why : ""}">${esc(r.grade)}</td>
    ${app.columns.map((c) => {
      const flagged = (r.unreliable || []).includes(c.key);
      const cls = flagged ? "unreliable" : (r.verdicts[c.key] || "");
      const text = fmt(r.values[c.key], c.digits) + (flagged && r.values[c.key] != null ? " ⚠" : "");
      return `<td class="${esc(cls)}" data-key="${esc(c.key)}"${flagged ? ` title="unreliable: ${why}"` : ""}>${text}</td>`;
    }).join("")}
  </tr>`;
  }).join("") || `<tr><td colspan="${app.columns.length + 2}" class="muted">No stride yet.</td></tr>`;
}

function renderKeyframe(d, el) {
  const k = d.keyframe;
  if (!k) return;
  const m = k.meta || {};
  const src = `/keyframe?device=${encodeURIComponent(d.key)}&v=${encodeURIComponent(k.version)}`;
  const img = $("img", el);
  const caption = m.stride_index != null
    ? `Stride ${esc(m.stride_index)} at ${fmt(m.time_s, 2)} s — <b>${esc(m.cue_id || "")}</b> ${esc(m.message || "")}`
    : "Latest keyframe";
  if (img && img.getAttribute("src") === src) return;
  el.innerHTML = `<figure><img class="keyframe" alt="Foot strike of the latest stride worth seeing" src="${src}">
    <figcaption>${caption}</figcaption></figure>`;
}

function renderClip(d, c) {
  const el = $(".clip", c.root);
  const clip = app.clips.find((k) => k.device_id === d.device_id);
  if (!clip) return;
  if (el.dataset.name === clip.name) return;
  el.dataset.name = clip.name;
  const fps = clip.frames > 1 && clip.duration_s > 0 ? (clip.frames - 1) / clip.duration_s : 10;
  el.innerHTML = `<video class="pass-clip" src="/clip/${encodeURIComponent(clip.name)}" controls muted playsinline
      preload="auto" loop></video>
    <div class="clip-controls">
      <button data-step="-1" aria-label="One frame back">◀ frame</button>
      <button data-play>Play / pause</button>
      <button data-step="1" aria-label="One frame on">frame ▶</button>
      <label class="field">Speed <select class="rate" aria-label="Playback speed">
        <option value="1">1×</option><option value="0.5">½×</option>
        <option value="0.25" selected>¼×</option><option value="0.1">0.1×</option></select></label>
    </div>
    <p class="muted">Pass ${esc(clip.pass_index)} · ${esc(clip.athlete || "no athlete")} · ${clock(clip.created)}
      · ${fmt(clip.duration_s, 1)} s, ${esc(clip.frames)} frames</p>`;
  const video = $("video", el);
  const rate = $(".rate", el);
  video.playbackRate = Number(rate.value);
  video.addEventListener("loadedmetadata", () => { video.playbackRate = Number(rate.value); });
  rate.addEventListener("change", () => { video.playbackRate = Number(rate.value); });
  $("[data-play]", el).addEventListener("click", () => { if (video.paused) video.play(); else video.pause(); });
  for (const btn of el.querySelectorAll("[data-step]")) {
    btn.addEventListener("click", () => {
      video.pause();
      const t = video.currentTime + Number(btn.dataset.step) / fps;
      video.currentTime = Math.min(Math.max(t, 0), video.duration || 0);
    });
  }
}

async function loadClips() {
  try {
    const r = await fetch("/api/clips", { credentials: "same-origin" });
    if (!r.ok) return;
    app.clips = (await r.json()).clips || [];
    for (const d of app.devices.values()) markDirty(d.key, "clips");
  } catch (e) { /* clips are optional */ }
}

function renderCmdResult(d, c) {
  const el = $(".cmd-result", c.root);
  for (let i = d.cmd_results.length - 1; i >= 0; i--) {
    const res = d.cmd_results[i];
    const name = c.pending.get(res.request_id);
    if (name === undefined) continue;
    el.textContent = res.ok ? `${name}: done` : `${name}: refused — ${res.reason}`;
    el.className = "cmd-result " + (res.ok ? "ok" : "bad");
    c.pending.delete(res.request_id);
    return;
  }
}

// --- commands --------------------------------------------------------------------------------

async function sendCommand(key, command, c) {
  const athlete = $(".athlete", c.root).value.trim();
  const args = {};
  if (command === "start_session") {
    // A session is always someone's: the report and the progress page are per athlete.
    if (!athlete) { showCmd(c, "Type or pick the athlete first.", false); $(".athlete", c.root).focus(); return; }
    args.athlete = athlete;
  }
  if (command === "select_athlete") {
    if (!athlete) { showCmd(c, "Type the athlete's name first.", false); return; }
    args.athlete = athlete;
  }
  if (command === "set_focus") {
    const ids = [...c.root.querySelectorAll("select.focus")].map((s) => s.value).filter(Boolean);
    args.cue_ids = [...new Set(ids)];
  }
  if (command === "set_speed") {
    const text = $(".speed", c.root).value.trim();
    args.speed_mps = text === "" ? null : Number(text);
    if (args.speed_mps !== null && !(args.speed_mps >= 1 && args.speed_mps <= 12)) {
      showCmd(c, "Speed: 1-12 m/s, or empty for unknown.", false); return;
    }
  }
  if (!app.auth.may_command) { openLogin("Commands need the dashboard password."); return; }
  showCmd(c, `${command}: sending…`, null);
  const r = await fetch("/api/command", {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ device: key, command, args }),
  });
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) { openLogin("Commands need the dashboard password."); showCmd(c, "log in first", false); return; }
  if (!r.ok) { showCmd(c, `${command}: ${body.reason || r.statusText}`, false); return; }
  c.pending.set(body.request_id, command);
  showCmd(c, `${command}: sent, waiting for the device…`, null);
  renderCmdResult(app.devices.get(key), c);
}

function showCmd(c, text, ok) {
  const el = $(".cmd-result", c.root);
  el.textContent = text;
  el.className = "cmd-result" + (ok === true ? " ok" : ok === false ? " bad" : "");
}

async function loadSessions() {
  try {
    const r = await fetch("/api/sessions", { credentials: "same-origin" });
    if (!r.ok) return;
    const body = await r.json();
    app.sessions = new Map(body.sessions.map((s) => [s.session_id, true]));
    app.athletesWithSessions = new Set(body.sessions.map((s) => s.athlete).filter(Boolean));
    for (const d of app.devices.values()) markDirty(d.key, "session");
  } catch (e) { /* the report link is optional */ }
}

// --- alert sound -----------------------------------------------------------------------------

let audio = null;
function notifyAlert(alert) {
  if (!$("#sound").checked) return;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = alert.verdict === "fault" ? 880 : 660;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    osc.connect(gain).connect(audio.destination);
    osc.start(); osc.stop(audio.currentTime + 0.4);
  } catch (e) { /* no audio on this browser */ }
  if (navigator.vibrate) navigator.vibrate(alert.verdict === "fault" ? [200, 100, 200] : [150]);
}

// --- login -----------------------------------------------------------------------------------

function openLogin(why) {
  $("#login-why").textContent = why || "Enter the dashboard password.";
  $("#login-error").textContent = "";
  const dlg = $("#login");
  if (!dlg.open) dlg.showModal();
  $("#password").focus();
}

async function login(ev) {
  ev.preventDefault();
  const r = await fetch("/api/login", {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ password: $("#password").value }),
  });
  if (!r.ok) { $("#login-error").textContent = "Wrong password."; return; }
  $("#password").value = "";
  $("#login").close();
  await fetchAuth();
  connect();
}

async function main() {
  const sound = $("#sound");
  sound.checked = localStorage.getItem("trackside.sound") === "1";
  sound.addEventListener("change", () => {
    localStorage.setItem("trackside.sound", sound.checked ? "1" : "0");
    if (sound.checked && !audio) { try { audio = new AudioContext(); } catch (e) { /* none */ } }
  });
  $("#login-form").addEventListener("submit", login);
  $("#login-cancel").addEventListener("click", () => $("#login").close());
  $("#login-open").addEventListener("click", () => openLogin());
  $("#logout").addEventListener("click", async () => {
    await fetch("/api/logout", { method: "POST", credentials: "same-origin",
                                 headers: { "Content-Type": "application/json" }, body: "{}" });
    await fetchAuth();
  });
  await fetchAuth();
  if (app.auth.view_needs_login && !app.auth.logged_in) { openLogin(); return; }
  connect();
  setInterval(loadClips, 15000);  // a clip is encoded after its pass: keep the list fresh
}

main();
