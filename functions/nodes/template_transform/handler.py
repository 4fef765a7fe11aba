from functions.nodes.runtime import node_handler
from functions.nodes.template_transform.entities import TemplateTransformConfig
from functions.nodes.template_transform.node import run

handler = node_handler(run, TemplateTransformConfig)
