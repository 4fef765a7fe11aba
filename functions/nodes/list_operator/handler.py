from functions.nodes.list_operator.entities import ListOperatorConfig
from functions.nodes.list_operator.node import run
from functions.nodes.runtime import node_handler

handler = node_handler(run, ListOperatorConfig)
