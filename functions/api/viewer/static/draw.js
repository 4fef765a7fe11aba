// The graph as SVG: one <g class="node status-…" data-node=… data-status=…> per node and a
// path per edge. Text goes in through textContent only: titles and ids come from users.

const SVG = "http://www.w3.org/2000/svg";
const MARGIN = 24;
const MIN_VIEW = { width: 960, height: 480 };
const CONTAINERS = new Set(["iteration", "loop"]);
export const STATUSES = ["pending", "running", "succeeded", "failed", "skipped", "stopped"];

function element(name, attributes = {}, parent = null) {
  const created = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) created.setAttribute(key, value);
  if (parent) parent.appendChild(created);
  return created;
}

function clip(text, width) {
  // About 7 px a character at the title's size: long titles end in an ellipsis (the full
  // one is the node's tooltip).
  const room = Math.max(4, Math.floor((width - 20) / 7));
  return text.length > room ? `${text.slice(0, room - 1)}…` : text;
}

// Draws `graph` with the boxes of `placed` (layout.js); `onSelect(id)` on click or Enter.
// Returns the node elements by id.
export function draw(svg, graph, placed, onSelect) {
  svg.replaceChildren();
  svg.dataset.layout = placed.kind;
  const defs = element("defs", {}, svg);
  const marker = element(
    "marker",
    { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto" },
    defs,
  );
  element("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }, marker);

  const boxes = placed.boxes;
  const edgeLayer = element("g", { class: "edges" }, svg);
  const nodeLayer = element("g", { class: "nodes" }, svg);
  for (const edge of graph.edges) {
    const from = boxes.get(edge.source);
    const to = boxes.get(edge.target);
    if (!from || !to) continue;
    const x1 = from.x + from.width;
    const y1 = from.y + from.height / 2;
    const x2 = to.x;
    const y2 = to.y + to.height / 2;
    const bend = Math.max(40, Math.abs(x2 - x1) / 2);
    element(
      "path",
      {
        d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
        class: "edge",
        "marker-end": "url(#arrow)",
        "data-source": edge.source,
        "data-target": edge.target,
      },
      edgeLayer,
    );
    if (edge.label) {
      const label = element("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, class: "edge-label" }, edgeLayer);
      label.textContent = edge.label;
    }
  }

  // Containers first, so the nodes inside them are drawn over them.
  const ordered = [...graph.nodes].sort(
    (a, b) => Number(CONTAINERS.has(b.type)) - Number(CONTAINERS.has(a.type)),
  );
  const drawn = new Map();
  for (const node of ordered) {
    const box = boxes.get(node.id);
    if (!box) continue;
    const group = element(
      "g",
      {
        class: `node status-pending${CONTAINERS.has(node.type) ? " container" : ""}`,
        "data-node": node.id,
        "data-status": "pending",
        transform: `translate(${box.x},${box.y})`,
        tabindex: "0",
        role: "button",
      },
      nodeLayer,
    );
    element("title", {}, group).textContent = `${node.title} (${node.id})`;
    element("rect", { width: box.width, height: box.height, rx: "8", ry: "8" }, group);
    element("text", { x: "10", y: "22", class: "node-title" }, group).textContent = clip(node.title, box.width);
    const detail = element("text", { x: "10", y: "42", class: "node-detail" }, group);
    detail.textContent = `${node.type || "node"} · pending`;
    group.addEventListener("click", () => onSelect(node.id));
    group.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        onSelect(node.id);
      }
    });
    drawn.set(node.id, { group, detail, type: node.type || "node" });
  }

  const all = [...boxes.values()];
  if (all.length) svg.setAttribute("viewBox", viewBox(all));
  return drawn;
}

// The drawing's extent, at least MIN_VIEW wide and high (centred in it), so a graph of
// three nodes is not blown up to fill the page.
function viewBox(all) {
  const left = Math.min(...all.map((b) => b.x)) - MARGIN;
  const top = Math.min(...all.map((b) => b.y)) - MARGIN;
  const width = Math.max(...all.map((b) => b.x + b.width)) + MARGIN - left;
  const height = Math.max(...all.map((b) => b.y + b.height)) + MARGIN - top;
  const shownWidth = Math.max(width, MIN_VIEW.width);
  const shownHeight = Math.max(height, MIN_VIEW.height);
  const x = left - (shownWidth - width) / 2;
  const y = top - (shownHeight - height) / 2;
  return `${x} ${y} ${shownWidth} ${shownHeight}`;
}

export function showStatus(drawn, status, selected) {
  const { group, detail, type } = drawn;
  for (const known of STATUSES) group.classList.toggle(`status-${known}`, known === status);
  group.classList.toggle("selected", selected);
  group.dataset.status = status;
  detail.textContent = `${type} · ${status}`;
}
