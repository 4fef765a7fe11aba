from functions.nodes.code.entities import CodeConfig
from functions.nodes.code.node import run
from functions.nodes.runtime import node_handler

handler = node_handler(run, CodeConfig)
