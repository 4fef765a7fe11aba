from functions.nodes.http_request.entities import HttpRequestConfig
from functions.nodes.http_request.node import run
from functions.nodes.runtime import node_handler

handler = node_handler(run, HttpRequestConfig)
