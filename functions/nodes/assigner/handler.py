from functions.nodes.assigner.entities import AssignerConfig
from functions.nodes.assigner.node import run
from functions.nodes.runtime import node_handler

handler = node_handler(run, AssignerConfig)
