from functions.nodes.runtime import node_handler
from functions.nodes.tool.entities import ToolConfig
from functions.nodes.tool.node import run

handler = node_handler(run, ToolConfig)
