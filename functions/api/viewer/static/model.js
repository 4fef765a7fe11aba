// A workflow document, as GET /v1/workflows/{id} shows it, as one plain graph to draw:
// nodes {id, title, type, parent, position, width, height} and edges {source, target, label}.
// A Dify or canvas document has `graph` (nodes with `data` and canvas `position`s); a v1
// document has `nodes` and `edges` (`from`/`to`, a `condition` on branches) and no positions.

export function fromDocument(document) {
  return document && document.graph ? fromCanvas(document.graph) : fromV1(document || {});
}

function fromCanvas(graph) {
  const raw = graph.nodes || [];
  const byId = new Map(raw.map((node) => [node.id, node]));
  const nodes = raw.map((node) => {
    const data = node.data || {};
    return {
      id: node.id,
      title: data.title || node.id,
      type: data.type || node.type || "",
      parent: node.parentId || data.iteration_id || data.loop_id || null,
      position: absolute(node, byId),
      width: typeof node.width === "number" ? node.width : null,
      height: typeof node.height === "number" ? node.height : null,
    };
  });
  const edges = (graph.edges || []).map((edge) => ({
    source: edge.source,
    target: edge.target,
    // Dify's plain handle is "source"; branches name theirs ("true", a case id, "fail-branch").
    label: edge.sourceHandle && edge.sourceHandle !== "source" ? edge.sourceHandle : null,
  }));
  return { nodes, edges };
}

// Canvas positions of nodes inside an iteration or loop are relative to it.
function absolute(node, byId, depth = 0) {
  if (isPoint(node.positionAbsolute)) return { ...node.positionAbsolute };
  if (!isPoint(node.position)) return null;
  const parent = node.parentId && byId.get(node.parentId);
  if (!parent || depth > 16) return { ...node.position };
  const origin = absolute(parent, byId, depth + 1);
  return origin ? { x: origin.x + node.position.x, y: origin.y + node.position.y } : null;
}

function isPoint(value) {
  return Boolean(value) && Number.isFinite(value.x) && Number.isFinite(value.y);
}

function fromV1(document) {
  const nodes = (document.nodes || []).map((node) => ({
    id: node.id,
    title: node.name || node.title || node.id,
    type: node.type || "",
    parent: null,
    position: isPoint(node.position) ? { ...node.position } : null,
    width: null,
    height: null,
  }));
  const edges = (document.edges || []).map((edge) => ({
    source: edge.from ?? edge.source,
    target: edge.to ?? edge.target,
    label: edge.condition ?? edge.sourceHandle ?? null,
  }));
  return { nodes, edges };
}

// A node the run reports that the document lacks (a workflow changed since the run, or
// one of another tenant): drawn all the same, without edges.
export function addNode(graph, id, title, type) {
  graph.nodes.push({ id, title: title || id, type: type || "", parent: null, position: null });
}
