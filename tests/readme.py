"""The README's walkthroughs: each a fenced bash block between `<!-- name:start -->` and
`<!-- name:end -->`, which a test runs verbatim."""

from __future__ import annotations

import re

from tests.local_server import ROOT

README = ROOT / "README.md"


def walkthrough(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    block = re.search(rf"<!-- {name}:start -->\n```bash\n(.*?)```\n<!-- {name}:end -->", text, re.S)
    assert block, f"README.md has no {name} block"
    return block.group(1)
