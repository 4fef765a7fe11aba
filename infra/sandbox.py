"""The code sandbox: the function a code node's user code runs in, with nothing to reach.

Its role grants only its own log group (and the network interfaces Lambda needs to place
it in a VPC); it gets no settings; its subnets are isolated (no NAT, no internet gateway,
no VPC endpoints) and its security group allows no traffic out, so code that escaped the
limited process finds no data, no usable credentials and no network. No X-Ray either:
the daemon would need the network it does not have. Only the code node may invoke it.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from functions.nodes.catalog import SANDBOX_FUNCTION_NAME, SANDBOX_HANDLER
from functions.nodes.limited import TIMEOUT_SECONDS
from infra.compliance import acknowledge
from infra.lambda_function import Placement, ServiceFunction

# The limited process's memory (256 MB) and the interpreter that starts it fit in this.
SANDBOX_MEMORY_MB = 1024


class CodeSandbox(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, code: lambda_.Code) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Network",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                )
            ],
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "NoTraffic",
            vpc=self.vpc,
            allow_all_outbound=False,
            description="The code sandbox: nothing in, nothing out",
        )
        sandbox = ServiceFunction(
            self,
            SANDBOX_FUNCTION_NAME,
            code=code,
            handler=SANDBOX_HANDLER,
            service=f"stepcanvas-{SANDBOX_FUNCTION_NAME}",
            # A run's wall-clock limit, plus starting the interpreter that enforces it.
            timeout=Duration.seconds(TIMEOUT_SECONDS + 20),
            memory_size=SANDBOX_MEMORY_MB,
            environment={"POWERTOOLS_TRACE_DISABLED": "true"},
            tracing=lambda_.Tracing.DISABLED,
            placement=Placement(
                self.vpc,
                ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
                self.security_group,
            ),
        )
        self.function: lambda_.IFunction = sandbox.function
        acknowledge(
            self.vpc,
            "AwsSolutions-VPC7",
            "The sandbox's subnets carry no traffic at all (isolated subnets, a security "
            "group with no rules, no endpoints): there is nothing for flow logs to record.",
        )
        acknowledge(
            sandbox.role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaVPCAccessExecutionRole]",
            "Lambda needs to create and delete the function's network interfaces to place it "
            "in the isolated subnets; the AWS managed policy is the documented grant.",
        )
