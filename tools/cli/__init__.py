"""`stepcanvas`: the command line for any Stepcanvas deployment, over its HTTP API.

`client.py` speaks HTTP (and server-sent events), `documents.py` reads workflow files and
checks them locally, `live.py` shows a run as it happens, `app.py` is the commands.
"""
