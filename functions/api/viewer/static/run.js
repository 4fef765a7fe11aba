// The run page: the run's workflow drawn once, then every node's state kept from the run's
// event stream (replayed from its start, then live until the run ends).

import { ApiError, followRun, getJson } from "./api.js";
import { draw, showStatus } from "./draw.js";
import { layout } from "./layout.js";
import { addNode, fromDocument } from "./model.js";
import { formatSeconds, formatTime, renderPanel } from "./panel.js";

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;
// v1 run statuses in the stream's (Dify's) words, until the stream says better.
const RUN_STATUS = { pending: "pending", running: "running", completed: "succeeded", failed: "failed" };
// The first node inside an iteration or loop marks where its body begins and never runs.
const BODY_STARTS = new Set(["iteration-start", "loop-start"]);

function newStep() {
  return { status: "pending", executions: 0, started: null, finished: null, elapsed: null, inputs: null, outputs: null, error: null };
}

export async function runPage(runId, ready) {
  const run = await getJson(`/v1/runs/${enc(runId)}`);
  const page = new RunPage(run);
  try {
    page.setWorkflow(await getJson(`/v1/workflows/${enc(run.workflowId)}`));
  } catch (error) {
    // Another tenant's discoverable workflow, or one deleted since: the run's own events
    // still name its nodes.
    if (!(error instanceof ApiError && error.status === 404)) throw error;
    page.setWorkflow(null);
  }
  $("run-view").hidden = false;
  ready();
  const ticker = setInterval(() => page.tick(), 500);
  try {
    await followRun(`/v1/runs/${enc(runId)}/events`, (chunk) => page.apply(chunk));
  } finally {
    clearInterval(ticker);
    page.tick();
  }
}

class RunPage {
  constructor(run) {
    this.run = run;
    this.status = RUN_STATUS[run.status] || run.status;
    this.created = Date.parse(run.createdAt) || null;
    this.finished = run.completedAt ? Date.parse(run.completedAt) : null;
    this.graph = { nodes: [], edges: [] };
    this.steps = new Map();
    this.drawn = new Map();
    this.selected = null;
    const link = $("runs-link");
    link.href = `../workflows/${enc(run.workflowId)}/runs`;
    link.hidden = false;
  }

  setWorkflow(workflow) {
    this.graph = fromDocument(workflow);
    $("title").textContent = workflow ? workflow.name : `Run ${this.run.id}`;
    document.title = `${$("title").textContent} · run ${this.run.id}`;
    this.redraw();
    this.tick();
  }

  redraw() {
    this.drawn = draw($("graph"), this.graph, layout(this.graph), (id) => this.select(id));
    for (const id of this.drawn.keys()) this.show(id);
  }

  step(id) {
    if (!this.steps.has(id)) this.steps.set(id, newStep());
    return this.steps.get(id);
  }

  // A node the document lacks is added, and the graph laid out again.
  ensureNode(data) {
    if (this.graph.nodes.some((node) => node.id === data.node_id)) return;
    addNode(this.graph, data.node_id, data.title, data.node_type);
    this.redraw();
  }

  apply(chunk) {
    const data = chunk.data || {};
    if (chunk.event === "workflow_started") {
      if (!this.finished) this.status = "running";
    } else if (chunk.event === "node_started") {
      this.ensureNode(data);
      const step = this.step(data.node_id);
      Object.assign(step, { status: "running", started: data.created_at * 1000, finished: null, elapsed: null, error: null });
      step.executions += 1;
      this.show(data.node_id);
    } else if (chunk.event === "node_finished") {
      this.ensureNode(data);
      const step = this.step(data.node_id);
      if (!step.executions) step.executions = 1;
      const started = data.created_at ? data.created_at * 1000 : step.started;
      const finished = data.finished_at ? data.finished_at * 1000 : null;
      Object.assign(step, {
        status: data.status,
        started,
        finished,
        // A node cut off (a stop, a timeout) reports no time of its own: its start and end,
        // to the second, say roughly how long it ran.
        elapsed: data.elapsed_time || (started && finished ? (finished - started) / 1000 : null),
        inputs: data.inputs ?? null,
        outputs: data.outputs ?? null,
        error: data.error || null,
      });
      this.show(data.node_id);
    } else if (chunk.event === "workflow_finished") {
      this.finish(data);
    }
    this.tick();
  }

  // What never ran was skipped; what was cut off by a stop (closed as failed with the
  // stop's cause) or left running was stopped.
  finish(data) {
    this.status = data.status;
    this.finished = data.finished_at ? data.finished_at * 1000 : Date.now();
    const stopped = data.status === "stopped";
    for (const node of this.graph.nodes) {
      const step = this.step(node.id);
      if (step.status === "running") step.status = "stopped";
      else if (stopped && step.status === "failed" && step.error === data.error) step.status = "stopped";
      else if (step.status === "pending") step.status = "skipped";
    }
    for (const node of this.graph.nodes) {
      if (BODY_STARTS.has(node.type) && node.parent && this.steps.has(node.parent)) {
        this.step(node.id).status = this.step(node.parent).status;
      }
    }
    for (const id of this.drawn.keys()) this.show(id);
  }

  show(id) {
    const drawn = this.drawn.get(id);
    if (drawn) showStatus(drawn, this.step(id).status, id === this.selected);
    if (id === this.selected) this.renderSelected();
  }

  select(id) {
    const previous = this.selected;
    this.selected = id;
    if (previous) this.show(previous);
    this.show(id);
  }

  renderSelected() {
    const node = this.graph.nodes.find((n) => n.id === this.selected);
    if (node) renderPanel(node, this.step(node.id), Date.now());
  }

  tick() {
    const badge = $("run-status");
    badge.hidden = false;
    badge.textContent = this.status;
    badge.className = `badge status-${this.status}`;
    document.body.dataset.runStatus = this.status;
    const end = this.finished || Date.now();
    const elapsed = this.created ? formatSeconds(Math.max(0, (end - this.created) / 1000)) : "—";
    $("summary").textContent =
      `run ${this.run.id} · ${this.run.triggeredBy || "api"} · created ${formatTime(this.created)} · ${elapsed}`;
    if (this.selected && this.step(this.selected).status === "running") this.renderSelected();
  }
}
