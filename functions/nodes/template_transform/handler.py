import contextlib

from functions.core.errors import NodeError
from functions.nodes.runtime import node_handler
from functions.nodes.template_transform.entities import TemplateTransformConfig
from functions.nodes.template_transform.node import RENDERER, run

handler = node_handler(run, TemplateTransformConfig)

# Start the render server during the Lambda's init rather than in its first invocation; a
# failure here is reported by that invocation instead.
with contextlib.suppress(NodeError):
    RENDERER.start()
