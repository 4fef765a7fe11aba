// The runs list of one workflow, newest first, each linking to its run page; read again
// every few seconds while some run has not ended, and now and then for new runs.

import { getJson } from "./api.js";
import { formatSeconds, formatTime } from "./panel.js";

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;
const BUSY_REFRESH_MS = 2000;
const IDLE_REFRESH_MS = 10000;
const STATUS = { pending: "pending", running: "running", completed: "succeeded", failed: "failed" };

function cell(row, text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  row.appendChild(td);
  return td;
}

function render(runs) {
  const body = $("runs-table").querySelector("tbody");
  body.replaceChildren();
  if (!runs.length) {
    const row = document.createElement("tr");
    cell(row, "No runs yet.", "muted").colSpan = 6;
    body.appendChild(row);
  }
  for (const run of runs) {
    const row = document.createElement("tr");
    row.dataset.run = run.id;
    const link = document.createElement("a");
    // This page is /ui/workflows/{id}/runs; a run's is /ui/runs/{id}.
    link.href = `../../runs/${enc(run.id)}`;
    link.textContent = run.id;
    cell(row, "").appendChild(link);
    const status = STATUS[run.status] || run.status;
    const badge = document.createElement("span");
    badge.className = `badge status-${status}`;
    badge.textContent = status;
    cell(row, "").appendChild(badge);
    cell(row, run.triggeredBy || "");
    const created = Date.parse(run.createdAt);
    cell(row, formatTime(created));
    const ended = run.completedAt ? Date.parse(run.completedAt) : null;
    cell(row, ended ? formatSeconds((ended - created) / 1000) : "—");
    cell(row, String((run.stepResults || []).length));
    body.appendChild(row);
  }
}

export async function runsPage(workflowId, ready) {
  const workflow = await getJson(`/v1/workflows/${enc(workflowId)}`);
  $("title").textContent = `Runs of ${workflow.name}`;
  document.title = `${workflow.name} · runs`;
  $("summary").textContent = `workflow ${workflow.id}`;
  $("runs-view").hidden = false;
  ready();
  for (;;) {
    const { runs } = await getJson(`/v1/workflows/${enc(workflowId)}/runs?limit=50`);
    render(runs);
    const busy = runs.some((run) => run.status === "pending" || run.status === "running");
    await new Promise((resolve) => setTimeout(resolve, busy ? BUSY_REFRESH_MS : IDLE_REFRESH_MS));
  }
}
