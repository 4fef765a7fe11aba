from functions.nodes.runtime import node_handler
from functions.nodes.variable_aggregator.entities import VariableAggregatorConfig
from functions.nodes.variable_aggregator.node import run

handler = node_handler(run, VariableAggregatorConfig)
