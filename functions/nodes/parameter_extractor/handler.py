from functions.nodes.parameter_extractor.entities import ParameterExtractorConfig
from functions.nodes.parameter_extractor.node import run
from functions.nodes.runtime import node_handler

handler = node_handler(run, ParameterExtractorConfig)
