#!/usr/bin/env python3
"""The CDK app: the Stepcanvas stack, checked by cdk-nag's AWS Solutions rules.

cdk-nag 3 is a policy-validation plugin: an unacknowledged finding fails synthesis.

`cdk synth` runs this file with cdk.json's context (feature flags, deployment settings) in
CDK_CONTEXT_JSON; `python app.py` (make synth) gets none from anywhere, and without the
feature flags synthesizes another template, or fails. So the app starts from cdk.json's
context and the CLI's default switches itself: both ways synthesize the same template
into the same cdk.out, and whatever the CLI does pass (`-c key=value`, `--no-…`) still
wins, because CDK_CONTEXT_JSON overrides an App's own context.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.stack import StepcanvasStack

ROOT = Path(__file__).resolve().parent
CDK_JSON = ROOT / "cdk.json"
# Where `cdk synth` (run in this directory) writes the cloud assembly.
DEFAULT_OUTDIR = ROOT / "cdk.out"
OUTDIR_ENV = "CDK_OUTDIR"
# The context `cdk synth` adds to cdk.json's by default (CLI 2.1148: --path-metadata,
# --asset-metadata and --version-reporting default to on; every stack is bundled).
CLI_DEFAULT_CONTEXT: dict[str, Any] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}


def default_context() -> dict[str, Any]:
    """What the app starts from: the CLI's defaults, then cdk.json's "context"."""
    project: dict[str, Any] = json.loads(CDK_JSON.read_text()).get("context", {})
    return {**CLI_DEFAULT_CONTEXT, **project}


def default_outdir() -> str | None:
    """cdk.out when run by hand; the CLI names its own output directory."""
    return None if os.environ.get(OUTDIR_ENV) else str(DEFAULT_OUTDIR)


def build() -> App:
    app = App(context=default_context(), outdir=default_outdir())
    StepcanvasStack(app, "Stepcanvas")
    Validations.of(app).add_plugins(
        # The written reasons also go into each resource's Metadata, for review in the
        # template.
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    )
    return app


if __name__ == "__main__":
    build().synth()
