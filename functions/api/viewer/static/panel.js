// The side panel: one node's status, timing, error, inputs and outputs (its latest
// execution; a node inside an iteration or loop runs once per item).

const $ = (id) => document.getElementById(id);

export function formatTime(ms) {
  return ms ? new Date(ms).toLocaleString() : "—";
}

export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  return seconds < 10 ? `${seconds.toFixed(3)} s` : `${seconds.toFixed(1)} s`;
}

function json(value) {
  if (value === null || value === undefined) return "—";
  return JSON.stringify(value, null, 2);
}

// Elapsed time: the node's own measure once finished; while it runs, counted from its start.
export function elapsedOf(step, now) {
  if (step.elapsed !== null && step.status !== "running") return step.elapsed;
  if (step.started && step.status === "running") return Math.max(0, (now - step.started) / 1000);
  return null;
}

export function renderPanel(node, step, now) {
  $("panel-hint").hidden = true;
  $("panel-body").hidden = false;
  $("panel-title").textContent = node.title === node.id ? node.id : `${node.title} (${node.id})`;
  const status = $("panel-status");
  status.textContent = step.status;
  status.className = `badge status-${step.status}`;
  $("panel-type").textContent = node.type || "";
  $("panel-started").textContent = formatTime(step.started);
  $("panel-finished").textContent = formatTime(step.finished);
  $("panel-elapsed").textContent = formatSeconds(elapsedOf(step, now));
  $("panel-executions").textContent = String(step.executions);
  $("panel-error-section").hidden = !step.error;
  $("panel-error").textContent = step.error || "";
  $("panel-inputs").textContent = json(step.inputs);
  $("panel-outputs").textContent = json(step.outputs);
}
