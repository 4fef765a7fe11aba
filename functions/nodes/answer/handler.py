from functions.nodes.answer.entities import AnswerConfig
from functions.nodes.answer.node import run
from functions.nodes.runtime import node_handler

handler = node_handler(run, AnswerConfig)
