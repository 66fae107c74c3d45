// Jobs panel: the index's rebuilds and bulk adds (GET /jobs), refreshed every second while one is active and
// every few seconds otherwise; pending and running jobs can be cancelled (DELETE /jobs/{id}, needs the key).
"use strict";
(() => {
  const byId = (id) => document.getElementById(id);
  const ACTIVE = new Set(["pending", "running"]);
  let timer = null;

  function outcome(job) {
    if (job.error) return job.error;
    const r = job.result;
    if (!r) return "";
    if (job.kind === "rebuild") return `${r.items} items · ${r.index_type} · ${r.reused_embeddings} reused`;
    if (job.kind === "bulk_add") return `${r.added} added · ${r.rejected ?? 0} rejected`;
    return JSON.stringify(r);
  }

  const { cell } = window.logoSim;

  function render(jobs) {
    const body = byId("jobs-body");
    body.replaceChildren();
    byId("jobs-empty").hidden = jobs.length > 0;
    for (const job of jobs) {
      const row = document.createElement("tr");
      row.className = `job ${job.state}`;
      row.dataset.id = job.id;
      cell(row, `${job.kind} ${job.id.slice(0, 8)}`);
      cell(row, job.state + (job.attempts > 1 ? ` (run ${job.attempts})` : ""), "state");
      const progress = cell(row, "", "progress");
      const bar = document.createElement("progress");
      bar.max = 1;
      bar.value = job.progress;
      progress.append(bar, ` ${job.done}/${job.total}`);
      cell(row, job.started ? new Date(job.started * 1000).toLocaleTimeString() : "–");
      cell(row, outcome(job), job.error ? "outcome error" : "outcome");
      const action = cell(row, "");
      if (ACTIVE.has(job.state)) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "secondary cancel";
        button.textContent = "Cancel";
        button.addEventListener("click", () => cancel(job.id));
        action.appendChild(button);
      }
      body.appendChild(row);
    }
    const active = jobs.filter((j) => ACTIVE.has(j.state)).length;
    byId("jobs-count").textContent = active ? `· ${active} active` : "";
    return active;
  }

  async function refresh() {
    clearTimeout(timer);
    let active = 0;
    try {
      const response = await fetch("jobs?limit=10");
      if (response.ok) active = render(await response.json());
    } catch (err) {
      byId("jobs-status").textContent = `could not load jobs: ${err}`;
    }
    timer = setTimeout(refresh, active ? 1000 : 5000);
  }

  async function cancel(id) {
    const response = await fetch(`jobs/${id}`, { method: "DELETE", headers: { "X-API-Key": byId("api-key").value } });
    const status = byId("jobs-status");
    if (response.ok) {
      status.textContent = `cancelling ${id.slice(0, 8)}…`;
    } else {
      const body = await response.json().catch(() => ({}));
      status.textContent = `cancel refused: ${body.detail || response.status}`;
    }
    refresh();
  }

  refresh();
})();
