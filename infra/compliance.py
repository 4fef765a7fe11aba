"""Acknowledging cdk-nag findings, each with its reason.

cdk-nag 3 runs as a CDK policy-validation plugin: any finding that is not acknowledged on the
resource or one of its scopes fails synthesis. Wildcard findings are acknowledged one by one
(`AwsSolutions-IAM5[Resource::…]`), so a new wildcard grant fails synthesis until someone
writes down why it is needed.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, Aws, CfnElement, Stack, Validations
from constructs import IConstruct

IAM_WILDCARD = "AwsSolutions-IAM5"


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_wildcards(scope: IConstruct, findings: Iterable[str], reason: str) -> None:
    """Acknowledge IAM5 findings such as `Resource::*` or `Action::s3:List*`."""
    for finding in findings:
        acknowledge(scope, f"{IAM_WILDCARD}[{finding}]", reason)


def arn_of(resource: IConstruct) -> str:
    """How a finding spells `Fn::GetAtt <resource>.Arn` (the resource's logical id)."""
    element = resource.node.default_child
    if not isinstance(element, CfnElement):
        raise TypeError(f"{resource.node.path} has no CloudFormation resource")
    return f"<{Stack.of(element).get_logical_id(element)}.Arn>"


def resource_finding(arn: str) -> str:
    """How cdk-nag spells an IAM5 finding on an ARN built from pseudo parameters."""
    return "Resource::" + (
        arn.replace(Aws.PARTITION, "<AWS::Partition>")
        .replace(Aws.REGION, "<AWS::Region>")
        .replace(Aws.ACCOUNT_ID, "<AWS::AccountId>")
    )
