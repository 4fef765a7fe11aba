from functions.nodes.llm.entities import LlmConfig
from functions.nodes.llm.node import run
from functions.nodes.runtime import node_handler

handler = node_handler(run, LlmConfig)
