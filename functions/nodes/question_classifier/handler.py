from functions.nodes.question_classifier.entities import QuestionClassifierConfig
from functions.nodes.question_classifier.node import run
from functions.nodes.runtime import node_handler

handler = node_handler(run, QuestionClassifierConfig)
