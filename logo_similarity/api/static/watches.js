// Watches panel: the caller's watch lists (GET /watches with the key typed here: a client key sees its own), a
// list's runs and its alerts best first, with triage buttons (PATCH /watches/{id}/alerts/{alert}) and its report.
"use strict";
(() => {
  const byId = (id) => document.getElementById(id);
  const ALERTS_SHOWN = 200;  // a page of the best; a run can leave many thousands (the report has them all)
  const TRIAGE = [["reviewing", "Review"], ["dismissed", "Dismiss"], ["opposed", "Oppose"], ["new", "Reset"]];
  let current = null;

  const headers = () => ({ "X-API-Key": byId("watch-key").value });
  const say = (text) => { byId("watch-status").textContent = text; };

  async function call(url, options = {}) {
    const response = await fetch(url, { ...options, headers: { ...headers(), ...(options.headers || {}) } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail ? `${body.detail}` : `HTTP ${response.status}`);
    return body;
  }

  const { cell } = window.logoSim;

  async function loadLists() {
    try {
      const lists = await call("watches");
      const body = byId("watch-lists");
      body.replaceChildren();
      for (const w of lists) {
        const row = document.createElement("tr");
        row.className = "watch";
        row.dataset.id = w.id;
        const name = cell(row, "");
        const link = document.createElement("button");
        link.type = "button";
        link.className = "link open";
        link.textContent = w.name;
        link.addEventListener("click", () => openList(w));
        name.appendChild(link);
        cell(row, `${w.marks} marks`);
        cell(row, w.last_run ? `${w.runs} runs · last ${w.last_run.state}, ${w.last_run.alerts_new} new` : "no run yet");
        body.appendChild(row);
      }
      say(lists.length ? "" : "No watch lists for this key.");
    } catch (err) {
      say(`could not load watch lists: ${err.message}`);
    }
  }

  async function openList(w) {
    current = w;
    byId("watch-title").textContent = `${w.name}: alerts`;
    try {
      const alerts = await call(`watches/${w.id}/alerts?limit=${ALERTS_SHOWN}`);
      const body = byId("watch-alerts");
      body.replaceChildren();
      for (const a of alerts) body.appendChild(alertRow(a));
      byId("watch-detail").hidden = false;
      say(alerts.length === ALERTS_SHOWN ? `the best ${ALERTS_SHOWN} alerts (the report lists them all)`
                                         : `${alerts.length} alerts`);
    } catch (err) {
      say(`could not load alerts: ${err.message}`);
    }
  }

  function alertRow(a) {
    const row = document.createElement("tr");
    row.className = `alert tier-${a.tier || "none"}`;
    row.dataset.id = a.id;
    cell(row, a.tier || "–", "tier");
    cell(row, a.conflict_score == null ? "–" : a.conflict_score.toFixed(2), "conflict");
    cell(row, a.mark.name || a.mark.key, "mark");
    cell(row, a.filing.name || a.filing.key, "filing");
    cell(row, a.filing.opposition_deadline || "–", "deadline");
    cell(row, a.state, "state");
    const actions = cell(row, "", "actions");
    for (const [state, label] of TRIAGE) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = `secondary triage ${state}`;
      button.textContent = label;
      button.disabled = a.state === state;
      button.addEventListener("click", () => triage(a, state, row));
      actions.appendChild(button);
    }
    return row;
  }

  async function triage(a, state, row) {
    try {
      const updated = await call(`watches/${current.id}/alerts/${a.id}`, {
        method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ state }),
      });
      row.replaceWith(alertRow(updated));
      say(`alert ${a.id} is now ${updated.state}`);
    } catch (err) {
      say(`triage refused: ${err.message}`);
    }
  }

  async function report() {
    if (!current) return;
    const response = await fetch(`watches/${current.id}/report?format=html`, { headers: headers() });
    if (!response.ok) { say(`report refused: HTTP ${response.status}`); return; }
    window.open(URL.createObjectURL(await response.blob()), "_blank");
  }

  byId("watch-load").addEventListener("click", loadLists);
  byId("watch-report").addEventListener("click", report);
})();
