from functions.nodes.end.entities import EndConfig
from functions.nodes.end.node import run
from functions.nodes.runtime import node_handler

handler = node_handler(run, EndConfig)
