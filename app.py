#!/usr/bin/env python3
"""The CDK app: the Stepcanvas stack, checked by cdk-nag's AWS Solutions rules.

cdk-nag 3 is a policy-validation plugin: an unacknowledged finding fails synthesis.
"""

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.stack import StepcanvasStack

app = App()
StepcanvasStack(app, "Stepcanvas")
Validations.of(app).add_plugins(
    # The written reasons also go into each resource's Metadata, for review in the template.
    AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
)
app.synth()
