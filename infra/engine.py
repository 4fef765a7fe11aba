"""The run-time engine: one function per node type, the runs function and the role every
compiled state machine executes with.

State machines themselves are created at run time by the api function (one per workflow),
so this construct only provides what they point at, run as and log to.
"""

from __future__ import annotations

from typing import assert_never

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions.nodes.catalog import (
    NODES,
    RUNS_FUNCTION_NAME,
    RUNS_HANDLER,
    RUNS_TIMEOUT_SECONDS,
    Capability,
)
from infra.compliance import acknowledge_wildcards, arn_of, resource_finding
from infra.lambda_function import LOG_RETENTION, ServiceFunction
from infra.sandbox import CodeSandbox
from infra.storage import Storage

SERVICE_PREFIX = "stepcanvas"
# Users register their tool functions under this name prefix; the tool node may invoke
# nothing else.
TOOL_FUNCTION_PREFIX = f"{SERVICE_PREFIX}-tool-"
SECRETS_PATH = SERVICE_PREFIX
# Node outputs above this size travel through the bucket (claim check): the state of an
# execution must stay under 256 KB, and Parallel branches merge several outputs.
PAYLOAD_INLINE_LIMIT = 32 * 1024


class Engine(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        storage: Storage,
        llm_provider: str,
        email_sender: str,
    ) -> None:
        super().__init__(scope, construct_id)
        storage_env = {
            "TABLE_NAME": storage.table.table_name,
            "BUCKET_NAME": storage.bucket.bucket_name,
        }
        node_env = {
            **storage_env,
            "LLM_PROVIDER": llm_provider,
            "EMAIL_SENDER": email_sender,
            "PAYLOAD_INLINE_LIMIT": str(PAYLOAD_INLINE_LIMIT),
        }

        self.sandbox = CodeSandbox(self, "CodeSandbox", code=code)
        self.node_functions: dict[str, lambda_.IFunction] = {}
        for spec in NODES.values():
            environment = dict(node_env)
            if Capability.INVOKE_CODE_SANDBOX in spec.capabilities:
                environment["CODE_SANDBOX_FUNCTION_ARN"] = self.sandbox.function.function_arn
            node = ServiceFunction(
                self,
                spec.function_name,
                code=code,
                handler=spec.handler,
                service=f"{SERVICE_PREFIX}-{spec.function_name}",
                timeout=Duration.seconds(spec.timeout),
                memory_size=spec.memory,
                environment=environment,
            )
            # Every node appends its step events and reads or writes claim-check payloads.
            storage.grant_table(node.role, write=True)
            storage.grant_bucket(node.role, write=True)
            for capability in sorted(spec.capabilities):
                _grant(node.role, capability, email_sender=email_sender, sandbox=self.sandbox)
            self.node_functions[spec.type.value] = node.function

        runs = ServiceFunction(
            self,
            RUNS_FUNCTION_NAME,
            code=code,
            handler=RUNS_HANDLER,
            service=f"{SERVICE_PREFIX}-{RUNS_FUNCTION_NAME}",
            timeout=Duration.seconds(RUNS_TIMEOUT_SECONDS),
            environment=storage_env,
        )
        storage.grant_table(runs.role, write=True)
        storage.grant_bucket(runs.role, write=False)
        self.runs_function: lambda_.IFunction = runs.function

        # One log group for every compiled state machine; the api function names it in each
        # state machine's LoggingConfiguration.
        self.execution_logs = logs.LogGroup(self, "ExecutionLogs", retention=LOG_RETENTION)
        self.state_machine_role = self._state_machine_role(
            [*self.node_functions.values(), self.runs_function]
        )

    @property
    def node_function_arns(self) -> dict[str, str]:
        """Node type value -> function ARN: what the compiler points each Task at."""
        return {node_type: fn.function_arn for node_type, fn in self.node_functions.items()}

    def _state_machine_role(self, functions: list[lambda_.IFunction]) -> iam.Role:
        role = iam.Role(
            self,
            "StateMachineRole",
            # Only Step Functions acting for this account may assume it (confused deputy).
            assumed_by=iam.ServicePrincipal(
                "states.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description="Role every compiled Stepcanvas state machine executes with",
        )
        for function in functions:
            function.grant_invoke(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                resources=["*"],
            )
        )
        acknowledge_wildcards(
            role,
            ["Resource::*"],
            "Step Functions' CloudWatch Logs delivery and X-Ray actions support no "
            "resource-level permissions.",
        )
        acknowledge_wildcards(
            role,
            [f"Resource::{arn_of(function)}:*" for function in functions],
            "Invoking '<function ARN>:*' allows the versions and aliases of exactly the "
            "Stepcanvas node and runs functions.",
        )
        return role


def _grant(
    role: iam.IRole, capability: Capability, *, email_sender: str, sandbox: CodeSandbox
) -> None:
    """Exactly the AWS permissions one capability stands for, nothing else."""
    partition, region, account = Aws.PARTITION, Aws.REGION, Aws.ACCOUNT_ID
    match capability:
        case Capability.SEND_EMAIL:
            resource = f"arn:{partition}:ses:{region}:{account}:identity/*"
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["ses:SendEmail", "ses:SendRawEmail"],
                    resources=[resource],
                    conditions={"StringEquals": {"ses:FromAddress": email_sender}},
                )
            )
            acknowledge_wildcards(
                role,
                [resource_finding(resource)],
                "SES authorises the sending identity (the address or its domain), unknown "
                "at synth; the ses:FromAddress condition pins the sender.",
            )
        case Capability.INVOKE_MODEL:
            resources = [
                # Cross-region inference profiles route to models in other regions.
                f"arn:{partition}:bedrock:*::foundation-model/*",
                f"arn:{partition}:bedrock:{region}:{account}:inference-profile/*",
            ]
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    # Converse and ConverseStream are authorised by these two actions.
                    actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                    resources=resources,
                )
            )
            acknowledge_wildcards(
                role,
                [resource_finding(r) for r in resources],
                "Workflows choose their model per node at run time; only Bedrock foundation "
                "models and this account's inference profiles.",
            )
        case Capability.READ_MODEL_SECRETS:
            parameter = f"arn:{partition}:ssm:{region}:{account}:parameter/{SECRETS_PATH}/*"
            secret = f"arn:{partition}:secretsmanager:{region}:{account}:secret:{SECRETS_PATH}/*"
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[parameter])
            )
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret])
            )
            acknowledge_wildcards(
                role,
                [resource_finding(parameter), resource_finding(secret)],
                f"Model keys are looked up by name at run time, only under /{SECRETS_PATH}/ "
                f"(SSM) and {SECRETS_PATH}/ (Secrets Manager).",
            )
        case Capability.READ_OBJECTS:
            # Every node already reads and writes the data bucket (claim checks).
            pass
        case Capability.INVOKE_TOOL_FUNCTIONS:
            resource = f"arn:{partition}:lambda:{region}:{account}:function:{TOOL_FUNCTION_PREFIX}*"
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[resource])
            )
            acknowledge_wildcards(
                role,
                [resource_finding(resource)],
                "Tool functions are registered by users after deployment; only functions "
                f"named {TOOL_FUNCTION_PREFIX}* may be invoked.",
            )
        case Capability.INVOKE_CODE_SANDBOX:
            # The unqualified function only: no version or alias, so no wildcard.
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"], resources=[sandbox.function.function_arn]
                )
            )
        case _:
            assert_never(capability)


def states_arn(resource_type: str) -> str:
    """The ARN pattern of the compiled state machines (`stateMachine`) or their runs
    (`execution`): only names under SERVICE_PREFIX, created per workflow at run time."""
    partition, region, account = Aws.PARTITION, Aws.REGION, Aws.ACCOUNT_ID
    return f"arn:{partition}:states:{region}:{account}:{resource_type}:{SERVICE_PREFIX}-*"


def run_environment(scope: Construct, *, storage: Storage, engine: Engine) -> dict[str, str]:
    """The settings of a function that compiles or starts runs (the api function, the
    trigger dispatcher): where runs are recorded and what state machines point at."""
    return {
        "TABLE_NAME": storage.table.table_name,
        "BUCKET_NAME": storage.bucket.bucket_name,
        "NODE_FUNCTION_ARNS": Stack.of(scope).to_json_string(engine.node_function_arns),
        "RUNS_FUNCTION_ARN": engine.runs_function.function_arn,
        "STATE_MACHINE_ROLE_ARN": engine.state_machine_role.role_arn,
        "STATE_MACHINE_PREFIX": SERVICE_PREFIX,
        "STATE_MACHINE_LOG_GROUP_ARN": engine.execution_logs.log_group_arn,
        # Each execution traced in X-Ray, its Lambda tasks in the same trace (the machine
        # role may write X-Ray: Engine._state_machine_role).
        "STATE_MACHINE_TRACING": "true",
    }
