from functions.nodes.email_send.entities import EmailSendConfig
from functions.nodes.email_send.node import run
from functions.nodes.runtime import node_handler

handler = node_handler(run, EmailSendConfig)
