from functions.nodes.if_else.entities import IfElseConfig
from functions.nodes.if_else.node import run
from functions.nodes.runtime import node_handler

handler = node_handler(run, IfElseConfig)
