"""One Stepcanvas Lambda function: the shared asset, its own role and its own log group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions.core.observability import NAMESPACE
from infra.compliance import acknowledge, acknowledge_wildcards
from infra.lambda_asset import ARCHITECTURE, RUNTIME

# Where functions/core/observability.py writes the run and node metrics (EMF).
METRICS_NAMESPACE = NAMESPACE
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


@dataclass(frozen=True)
class Placement:
    """Subnets and a security group to run a function in, instead of Lambda's network."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup

    def function_options(self) -> dict[str, Any]:
        return {
            "vpc": self.vpc,
            "vpc_subnets": self.subnets,
            "security_groups": [self.security_group],
        }


class ServiceFunction(Construct):
    """A function whose role starts empty: callers grant exactly what the handler needs.

    The role is built here rather than by `lambda.Function` so it never receives the broad
    AWSLambdaBasicExecutionRole managed policy; it may write to its own log group only.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        handler: str,
        service: str,
        timeout: Duration,
        environment: Mapping[str, str],
        memory_size: int = 512,
        layers: Sequence[lambda_.ILayerVersion] = (),
        # Active X-Ray tracing (functions/core/observability.py adds the handler's own
        # subsegments); only the zero-permission code sandbox turns it off.
        tracing: lambda_.Tracing = lambda_.Tracing.ACTIVE,
        placement: Placement | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.service = service
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Stepcanvas {service} function",
        )
        log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            code=code,
            handler=handler,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            role=self.role,
            timeout=timeout,
            memory_size=memory_size,
            tracing=tracing,
            log_group=log_group,
            layers=list(layers),
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": "INFO",
                **environment,
            },
            **(placement.function_options() if placement else {}),
        )
        # CDK makes the function depend on the whole role construct so its policy exists
        # before the first invocation; cfn-lint flags the half that GetAtt already implies.
        cfn_function = cast(lambda_.CfnFunction, self.function.node.default_child)
        cfn_function.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
        if tracing is lambda_.Tracing.ACTIVE:
            acknowledge_wildcards(
                self.role,
                ["Resource::*"],
                "X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) support no "
                "resource-level permissions.",
            )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "The runtime is pinned on purpose (infra/lambda_asset.py builds the wheels for "
            "it): moving to a newer Python is a tested change, not a synth-time default.",
        )
