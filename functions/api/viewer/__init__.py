"""The run viewer: a page per run and a runs list per workflow, drawn in the browser.

`pages.py` serves the HTML and the plain static files in `static/` (no CDN, no build step:
they ship in the functions asset as they are). The pages are public and hold no data; the
browser reads everything with the key the user typed into the page, sent in a header, from
the account-key routes in `runs.py` (a run by its id alone, and its event stream) and the
v1 face.
"""
