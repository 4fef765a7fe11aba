"""The stream function: the two routes that start a run, able to answer as an SSE stream.

Python has no native Lambda response streaming (DESIGN §11), so functions/stream/app.py, an
ASGI app, runs under uvicorn (functions/stream/run.sh, the handler) behind the AWS Lambda
Web Adapter, attached as AWS's public layer. The adapter turns each invocation into an HTTP
request to uvicorn and, in `response_stream` mode, streams uvicorn's answer back through
Lambda's InvokeWithResponseStream, which API Gateway calls when the integration's
`responseTransferMode` is STREAM (infra/api.py).
"""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.compliance import acknowledge_wildcards, resource_finding
from infra.engine import SERVICE_PREFIX, Engine, run_environment, states_arn
from infra.lambda_asset import ARCHITECTURE
from infra.lambda_function import ServiceFunction
from infra.storage import Storage

STREAM_HANDLER = "functions/stream/run.sh"

# The Lambda Web Adapter layer AWS publishes in every commercial region, under one account
# and with the same version number everywhere:
#   arn:aws:lambda:<region>:753240598075:layer:LambdaAdapterLayer{Arm64,X86}:<version>
# The version is a deployment setting: `cdk deploy -c stepcanvas:lwaLayerVersion=<n>`.
# The default is the layer version the adapter's README ("Zip Packages") named when this
# was written (LWA 1.x); read the release notes before moving it
# (https://github.com/aws/aws-lambda-web-adapter). The region is the stack's own, resolved
# at deploy time (${AWS::Region}), so no per-region mapping is needed.
# Regions where AWS publishes no such layer (China, GovCloud) or a copy in your own account
# take the whole ARN instead: `-c stepcanvas:lwaLayerArn=arn:…`.
LWA_LAYER_VERSION_CONTEXT = "stepcanvas:lwaLayerVersion"
LWA_LAYER_ARN_CONTEXT = "stepcanvas:lwaLayerArn"
DEFAULT_LWA_LAYER_VERSION = 30
LWA_ACCOUNT = "753240598075"
# The layer must match the function's CPU: it holds the adapter's native binary.
LWA_LAYER_NAMES = {
    lambda_.Architecture.ARM_64.name: "LambdaAdapterLayerArm64",
    lambda_.Architecture.X86_64.name: "LambdaAdapterLayerX86",
}
# run.sh starts uvicorn on AWS_LWA_PORT (8080 if unset); the adapter forwards to the same
# variable, so both read the value set here.
LWA_PORT = 8080

# A stream is cut at 15 minutes three times over: the Lambda timeout, API Gateway's longest
# streaming integration timeout and its longest streamed response. The app ends the stream
# itself a minute earlier (an `error` event; the run goes on), so clients see a clean end.
STREAM_TIMEOUT = Duration.minutes(15)
STREAM_SECONDS = int(STREAM_TIMEOUT.to_seconds()) - 60
# A blocking answer sends nothing until it is complete, and a streamed integration that
# sends nothing for 5 minutes (regional endpoints) is cut; the bound stays that of the api
# function's blocking runs, so both transports answer alike.
BLOCKING_SECONDS = 25
# The function mostly waits on the run's event log, and is billed for the whole stream.
MEMORY_SIZE = 512


def stream_function(
    scope: Construct, construct_id: str, *, code: lambda_.Code, storage: Storage, engine: Engine
) -> lambda_.IFunction:
    stream = ServiceFunction(
        scope,
        construct_id,
        code=code,
        handler=STREAM_HANDLER,
        service=f"{SERVICE_PREFIX}-stream",
        timeout=STREAM_TIMEOUT,
        memory_size=MEMORY_SIZE,
        layers=[
            lambda_.LayerVersion.from_layer_version_arn(
                scope, f"{construct_id}-web-adapter", web_adapter_layer_arn(scope)
            )
        ],
        environment={
            # The adapter's bootstrap starts the handler script (run.sh), waits until GET /
            # answers (the app's 404 counts as ready) and forwards every invocation;
            # response_stream makes it answer through Lambda response streaming.
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
            "AWS_LWA_INVOKE_MODE": "response_stream",
            "AWS_LWA_PORT": str(LWA_PORT),
            **run_environment(scope, storage=storage, engine=engine),
            "SERVICE_STREAM_SECONDS": str(STREAM_SECONDS),
            "SERVICE_BLOCKING_SECONDS": str(BLOCKING_SECONDS),
        },
    )
    # Runs are recorded and their event logs read in the table; files and claim-checked
    # outputs live in the bucket.
    storage.grant_table(stream.role, write=True)
    storage.grant_bucket(stream.role, write=True)
    _grant_run_executions(stream.role)
    return stream.function


def web_adapter_layer_arn(scope: Construct) -> str:
    """The Lambda Web Adapter layer for the stack's region and the functions' CPU."""
    arn = scope.node.try_get_context(LWA_LAYER_ARN_CONTEXT)
    if arn:
        return str(arn)
    version = _layer_version(
        scope.node.try_get_context(LWA_LAYER_VERSION_CONTEXT) or DEFAULT_LWA_LAYER_VERSION
    )
    layer = LWA_LAYER_NAMES[ARCHITECTURE.name]
    # `aws` partition on purpose: AWS publishes the layer under this account only there.
    return f"arn:aws:lambda:{Aws.REGION}:{LWA_ACCOUNT}:layer:{layer}:{version}"


def _layer_version(value: object) -> int:
    text = str(value).strip()
    if not text.isdigit() or int(text) == 0:
        raise ValueError(
            f"context {LWA_LAYER_VERSION_CONTEXT} must be a layer version number, not {value!r}"
        )
    return int(text)


def _grant_run_executions(role: iam.IRole) -> None:
    """Start a run; read an execution's status (a run whose execution ended without
    finalizing it is settled as failed); stop one (the run services it imports can stop a
    run, although stop requests reach the api function today). A dropped stream never
    stops its run. Creating or changing state machines stays with the api function."""
    state_machines, executions = states_arn("stateMachine"), states_arn("execution")
    role.add_to_principal_policy(
        # Version ARNs (<state machine>:<n>) fall under the same pattern; a blocking run
        # of an Express workflow is one StartSyncExecution.
        iam.PolicyStatement(
            actions=["states:StartExecution", "states:StartSyncExecution"],
            resources=[state_machines],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["states:StopExecution", "states:DescribeExecution"],
            resources=[executions],
        )
    )
    acknowledge_wildcards(
        role,
        [resource_finding(state_machines), resource_finding(executions)],
        "State machines are created per workflow at run time; the stream function may "
        f"only start, stop and describe executions of those named {SERVICE_PREFIX}-*.",
    )
