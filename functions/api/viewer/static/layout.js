// Where each node is drawn: at its canvas position when the document has them (a Dify or
// canvas graph), otherwise in layers left to right: each node one layer right of its
// furthest predecessor (longest-path layering), nodes within a layer ordered by the mean
// position of their neighbours (barycentric sweeps) so edges cross less.

export const NODE = { width: 180, height: 56 };
const GAP_X = 80;
const GAP_Y = 28;
const SWEEPS = 4;

export function layout(graph) {
  if (graph.nodes.some((node) => node.position)) return canvas(graph);
  return layered(graph);
}

function canvas(graph) {
  const boxes = new Map();
  const loose = [];
  for (const node of graph.nodes) {
    if (!node.position) {
      loose.push(node);
      continue;
    }
    boxes.set(node.id, {
      x: node.position.x,
      y: node.position.y,
      width: Math.max(node.width || NODE.width, 120),
      height: Math.max(node.height || NODE.height, 48),
    });
  }
  // Nodes without a position (reported by the run, missing from the document) go in a row
  // under the drawing.
  const bottom = Math.max(...[...boxes.values()].map((b) => b.y + b.height));
  const left = Math.min(...[...boxes.values()].map((b) => b.x));
  loose.forEach((node, index) => {
    boxes.set(node.id, {
      x: left + index * (NODE.width + GAP_X),
      y: bottom + GAP_Y * 2,
      ...NODE,
    });
  });
  return { kind: "canvas", boxes };
}

function layered(graph) {
  const ids = graph.nodes.map((node) => node.id);
  const known = new Set(ids);
  const edges = graph.edges.filter(
    (e) => known.has(e.source) && known.has(e.target) && e.source !== e.target,
  );
  const forward = withoutBackEdges(ids, edges);
  const predecessors = neighbours(ids, forward, "target", "source");
  const successors = neighbours(ids, forward, "source", "target");

  const order = topological(ids, predecessors, successors);
  const layerOf = new Map();
  for (const id of order) {
    const before = predecessors.get(id).map((p) => layerOf.get(p) + 1);
    layerOf.set(id, Math.max(0, ...before));
  }
  const layers = [];
  for (const id of order) (layers[layerOf.get(id)] ||= []).push(id);

  const index = new Map();
  const place = (layer) => layer.forEach((id, i) => index.set(id, i));
  layers.forEach(place);
  for (let sweep = 0; sweep < SWEEPS; sweep += 1) {
    for (let i = 1; i < layers.length; i += 1) place(reorder(layers[i], predecessors, index));
    for (let i = layers.length - 2; i >= 0; i -= 1) place(reorder(layers[i], successors, index));
  }

  const tallest = Math.max(1, ...layers.map((layer) => layer.length));
  const boxes = new Map();
  layers.forEach((layer, column) => {
    const offset = (tallest - layer.length) / 2;
    layer.forEach((id, row) => {
      boxes.set(id, {
        x: column * (NODE.width + GAP_X),
        y: (row + offset) * (NODE.height + GAP_Y),
        ...NODE,
      });
    });
  });
  return { kind: "layered", boxes };
}

// A loop's edge back to its start would make layering impossible: drop the edges that
// close a cycle (found by a depth-first walk in document order) for the layout only.
function withoutBackEdges(ids, edges) {
  const out = neighbours(ids, edges, "source", "target");
  const state = new Map();
  const back = new Set();
  const visit = (id) => {
    state.set(id, "open");
    for (const next of out.get(id)) {
      if (state.get(next) === "open") back.add(`${id}\u0000${next}`);
      else if (!state.has(next)) visit(next);
    }
    state.set(id, "done");
  };
  for (const id of ids) if (!state.has(id)) visit(id);
  return edges.filter((e) => !back.has(`${e.source}\u0000${e.target}`));
}

function neighbours(ids, edges, from, to) {
  const found = new Map(ids.map((id) => [id, []]));
  for (const edge of edges) {
    const list = found.get(edge[from]);
    if (!list.includes(edge[to])) list.push(edge[to]);
  }
  return found;
}

// Kahn's algorithm, taking ready nodes in document order.
function topological(ids, predecessors, successors) {
  const waiting = new Map(ids.map((id) => [id, predecessors.get(id).length]));
  const ready = ids.filter((id) => waiting.get(id) === 0);
  const order = [];
  while (ready.length) {
    const id = ready.shift();
    order.push(id);
    for (const next of successors.get(id)) {
      waiting.set(next, waiting.get(next) - 1);
      if (waiting.get(next) === 0) ready.push(next);
    }
  }
  return order;
}

function reorder(layer, adjacent, index) {
  const centre = (id) => {
    const around = adjacent.get(id).map((n) => index.get(n));
    return around.length ? around.reduce((a, b) => a + b, 0) / around.length : index.get(id);
  };
  // A stable sort (ties keep their current order), in place: the layer is reused.
  const sorted = layer
    .map((id, position) => ({ id, position, centre: centre(id) }))
    .sort((a, b) => a.centre - b.centre || a.position - b.position)
    .map((entry) => entry.id);
  layer.splice(0, layer.length, ...sorted);
  return layer;
}
