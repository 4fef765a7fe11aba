from functions.nodes.runtime import node_handler
from functions.nodes.start.entities import StartConfig
from functions.nodes.start.node import run

handler = node_handler(run, StartConfig)
