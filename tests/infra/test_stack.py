"""CDK assertions on the Stepcanvas template, synthesized by running `python app.py`.

The entry point runs twice, at once: as `cdk synth` runs it (cdk.json's context and the
CLI's switches in CDK_CONTEXT_JSON), and bare, as `make synth` does; both must give one
template. Running the real entry point also proves that app.py applies cdk-nag: an
unacknowledged finding fails synthesis.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match, Template

import app as cdk_app
from functions.core.data.schema import INDEXES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from functions.core.model.workflow import NodeType
from functions.nodes.catalog import NODES, RUNS_HANDLER, SANDBOX_HANDLER, Capability, NodeSpec
from functions.stream import app as stream_app
from functions.wiring import NODE_TYPES
from infra.api import ROUTES, STREAM_ROUTES, UNAUTHENTICATED_ROUTES
from infra.lambda_asset import SKIP_DEPENDENCY_INSTALL_ENV
from infra.stream import (
    DEFAULT_LWA_LAYER_VERSION,
    LWA_LAYER_ARN_CONTEXT,
    LWA_LAYER_VERSION_CONTEXT,
    STREAM_HANDLER,
    web_adapter_layer_arn,
)

# Synthesis is slow: keep this module on one xdist worker so it happens once.
pytestmark = pytest.mark.xdist_group("infra")

REPO_ROOT = Path(__file__).resolve().parents[2]
API_HANDLER = "functions.api.handler.handler"
AUTHORIZER_HANDLER = "functions.authorizer.handler.handler"


def _ref(value: dict[str, Any]) -> str:
    """The logical id behind a `Ref` or `Fn::GetAtt`."""
    return str(value["Ref"] if "Ref" in value else value["Fn::GetAtt"][0])


@dataclass(frozen=True)
class Synth:
    template: Template
    resources: dict[str, dict[str, Any]]
    outdir: Path

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    def function_id(self, handler: str) -> str:
        (logical_id,) = (
            logical_id
            for logical_id, function in self.of_type("AWS::Lambda::Function").items()
            if function["Properties"]["Handler"] == handler
        )
        return logical_id

    def role_id(self, handler: str) -> str:
        return _ref(self.resources[self.function_id(handler)]["Properties"]["Role"])

    def state_machine_role_id(self) -> str:
        return self.service_role_id("states.amazonaws.com")

    def service_role_id(self, service: str) -> str:
        """The one role that `service` assumes."""
        (logical_id,) = (
            logical_id
            for logical_id, role in self.of_type("AWS::IAM::Role").items()
            if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
            == {"Service": service}
        )
        return logical_id


# What CDK CLI 2.1148 adds to cdk.json's context when it runs the app (`cdk synth`).
CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
    "aws:cdk:bundling-stacks": ["**"],
}


def _start_synth(outdir: Path, context: dict[str, Any] | None) -> subprocess.Popen[str]:
    # Nothing of a surrounding CDK run leaks in; only what the case under test sets.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    env |= {
        "CDK_OUTDIR": str(outdir),
        SKIP_DEPENDENCY_INSTALL_ENV: "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    if context is not None:
        env["CDK_CONTEXT_JSON"] = json.dumps(context)
    return subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish_synth(name: str, process: subprocess.Popen[str], outdir: Path) -> Synth:
    _, stderr = process.communicate(timeout=300)
    if process.returncode != 0:
        pytest.fail(f"python app.py ({name}) failed:\n{stderr}")
    template = json.loads((outdir / "Stepcanvas.template.json").read_text())
    return Synth(Template.from_json(template), template["Resources"], outdir)


@pytest.fixture(scope="module")
def synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synth]:
    """`python app.py` run as `cdk synth` runs it, and bare (make synth), side by side."""
    project_context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    cases: dict[str, dict[str, Any] | None] = {
        "cdk synth": {**project_context, **CLI_CONTEXT},
        "python app.py": None,
    }
    started = {}
    for name, context in cases.items():
        outdir = tmp_path_factory.mktemp("cdk.out")
        started[name] = (_start_synth(outdir, context), outdir)
    return {name: _finish_synth(name, *run) for name, run in started.items()}


@pytest.fixture(scope="module")
def synth(synths: dict[str, Synth]) -> Synth:
    return synths["cdk synth"]


# -- storage ---------------------------------------------------------------------------


def test_table_has_the_shared_key_schema_indexes_ttl_and_pitr(synth: Synth) -> None:
    synth.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "KeySchema": [
                        {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
                        {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
                    ],
                    "BillingMode": "PAY_PER_REQUEST",
                    "GlobalSecondaryIndexes": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "IndexName": index,
                                    "KeySchema": [
                                        {"AttributeName": pk, "KeyType": "HASH"},
                                        {"AttributeName": sk, "KeyType": "RANGE"},
                                    ],
                                    "Projection": {"ProjectionType": "ALL"},
                                }
                            )
                            for index, (pk, sk) in INDEXES.items()
                        ]
                    ),
                    "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "SSESpecification": {"SSEEnabled": True},
                }
            ),
        },
    )


def test_every_bucket_is_encrypted_private_and_ssl_only(synth: Synth) -> None:
    buckets = synth.of_type("AWS::S3::Bucket")
    assert len(buckets) == 2
    for bucket in buckets.values():
        props = bucket["Properties"]
        encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert encryption == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
    for policy in synth.of_type("AWS::S3::BucketPolicy").values():
        denies = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_data_bucket_logs_access_and_never_expires_run_payloads_by_age(synth: Synth) -> None:
    """A run's objects (runs/<id>/) go with the run (its retention: the retention function
    deletes them when TTL deletes the run); an age rule would break runs kept forever."""
    (bucket,) = [
        r
        for r in synth.resources.values()
        if r["Type"] == "AWS::S3::Bucket" and "LoggingConfiguration" in r["Properties"]
    ]
    rules = bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    assert bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"]
    assert not [rule for rule in rules if "ExpirationInDays" in rule]


# -- API -------------------------------------------------------------------------------


def _resource_paths(synth: Synth) -> dict[str, str]:
    """Logical id of every API Gateway resource (and of the API, the root) -> its path."""
    resources = synth.of_type("AWS::ApiGateway::Resource")
    paths = dict.fromkeys(synth.of_type("AWS::ApiGateway::RestApi"), "")

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            paths[logical_id] = f"{path_of(_ref(props['ParentId']))}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


def _methods(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    paths = _resource_paths(synth)
    return {
        (paths[_ref(props["ResourceId"])] or "/", props["HttpMethod"]): props
        for props in (m["Properties"] for m in synth.of_type("AWS::ApiGateway::Method").values())
    }


def _authorizer_id(synth: Synth) -> str:
    (authorizer_id,) = synth.of_type("AWS::ApiGateway::Authorizer")
    return authorizer_id


def test_authorizer_is_an_uncached_request_authorizer_on_the_authorizer_function(
    synth: Synth,
) -> None:
    (authorizer,) = synth.of_type("AWS::ApiGateway::Authorizer").values()
    props = authorizer["Properties"]
    assert props["Type"] == "REQUEST"
    # Keys come in X-API-Key or Authorization; with no identity source (allowed only without
    # caching) API Gateway hands every request to the function, which picks the header.
    assert (props["AuthorizerResultTtlInSeconds"], props["IdentitySource"]) == (0, "")
    function_id = synth.function_id(AUTHORIZER_HANDLER)
    assert {"Fn::GetAtt": [function_id, "Arn"]} in props["AuthorizerUri"]["Fn::Join"][1]


ROUTE_METHODS = [(path, method) for path, methods in ROUTES.items() for method in methods]


@pytest.mark.parametrize(("path", "method"), ROUTE_METHODS)
def test_route_exists_behind_the_request_authorizer(synth: Synth, path: str, method: str) -> None:
    props = _methods(synth)[(path, method)]
    assert props["AuthorizationType"] == "CUSTOM"
    assert props["AuthorizerId"] == {"Ref": _authorizer_id(synth)}


def test_every_method_uses_the_authorizer(synth: Synth) -> None:
    authorizer = {"Ref": _authorizer_id(synth)}
    # But the webhooks, signed instead (tests/infra/test_triggers_stack.py).
    public = {(path, m) for path, methods in UNAUTHENTICATED_ROUTES.items() for m in methods}
    for route, props in _methods(synth).items():
        if route in public:
            continue
        assert props["AuthorizationType"] == "CUSTOM", route
        assert props["AuthorizerId"] == authorizer, route


def test_static_run_is_a_resource_of_its_own_next_to_id(synth: Synth) -> None:
    paths = set(_resource_paths(synth).values())
    assert {"/v1/workflows/run", "/v1/workflows/{id}", "/v1/workflows/{id}/run"} <= paths
    assert ("/v1/workflows/run", "POST") in _methods(synth)


def test_paths_not_listed_still_reach_the_api_function(synth: Synth) -> None:
    methods = _methods(synth)
    for path in ("/{proxy+}", "/v1/{proxy+}", "/v1/workflows/run/{id}/{proxy+}"):
        assert (path, "ANY") in methods, path


def test_stage_logs_access_throttles_and_traces(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "TracingEnabled": True,
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                            "LoggingLevel": "ERROR",
                            "ThrottlingRateLimit": Match.any_value(),
                            "ThrottlingBurstLimit": Match.any_value(),
                        }
                    )
                ]
            ),
        },
    )


def test_api_function_gets_the_engine_settings(synth: Synth) -> None:
    props = synth.resources[synth.function_id(API_HANDLER)]["Properties"]
    assert {
        "TABLE_NAME",
        "BUCKET_NAME",
        "NODE_FUNCTION_ARNS",
        "RUNS_FUNCTION_ARN",
        "STATE_MACHINE_ROLE_ARN",
        "STATE_MACHINE_PREFIX",
        "UPLOAD_MAX_BYTES",
        "POWERTOOLS_SERVICE_NAME",
    } <= set(props["Environment"]["Variables"])


# -- the stream function ------------------------------------------------------------------


def _stream_props(synth: Synth) -> dict[str, Any]:
    return dict(synth.resources[synth.function_id(STREAM_HANDLER)]["Properties"])


def test_stream_function_runs_run_sh_behind_the_web_adapter_layer(synth: Synth) -> None:
    props = _stream_props(synth)
    assert (props["Runtime"], props["Architectures"]) == ("python3.12", ["arm64"])
    assert props["Timeout"] == 15 * 60
    # The same asset as every other function.
    api = synth.resources[synth.function_id(API_HANDLER)]["Properties"]
    assert props["Code"] == api["Code"]
    (layer,) = props["Layers"]
    assert layer == {
        "Fn::Join": [
            "",
            [
                "arn:aws:lambda:",
                {"Ref": "AWS::Region"},
                f":753240598075:layer:LambdaAdapterLayerArm64:{DEFAULT_LWA_LAYER_VERSION}",
            ],
        ]
    }


def test_stream_function_environment(synth: Synth) -> None:
    variables = _stream_props(synth)["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert variables["AWS_LWA_INVOKE_MODE"] == "response_stream"
    # run.sh starts uvicorn on the port the adapter forwards to.
    run_sh = (REPO_ROOT / STREAM_HANDLER).read_text()
    assert '--port "${AWS_LWA_PORT:-' in run_sh
    assert variables["AWS_LWA_PORT"] == run_sh.split("${AWS_LWA_PORT:-")[1].split("}")[0]
    assert {
        "TABLE_NAME",
        "BUCKET_NAME",
        "NODE_FUNCTION_ARNS",
        "RUNS_FUNCTION_ARN",
        "STATE_MACHINE_ROLE_ARN",
        "STATE_MACHINE_PREFIX",
        "POWERTOOLS_SERVICE_NAME",
    } <= set(variables)
    # The app ends a stream before Lambda (and API Gateway) would cut it, and blocking
    # answers come well inside API Gateway's 5-minute idle timeout.
    assert 0 < float(variables["SERVICE_STREAM_SECONDS"]) < _stream_props(synth)["Timeout"]
    assert 0 < float(variables["SERVICE_BLOCKING_SECONDS"]) < 5 * 60


def test_run_sh_is_executable_in_the_asset(synth: Synth) -> None:
    (run_sh,) = synth.outdir.glob(f"asset.*/{STREAM_HANDLER}")
    assert os.access(run_sh, os.X_OK)


def test_stream_routes_are_the_routes_the_stream_app_serves() -> None:
    # The app names path parameters in Python's style, API Gateway as its other routes do.
    names = {"workflow_id": "id", "app_id": "appId", "run_id": "runId", "workflow_run_id": "id"}
    served = {
        (re.sub(r"\{(\w+)\}", lambda m: "{" + names[m[1]] + "}", path), method)
        for path, method in stream_app.SERVED
    }
    assert served == set(STREAM_ROUTES)
    assert {(path, method) for path, method in ROUTE_METHODS} >= STREAM_ROUTES


def _integration_target(integration: dict[str, Any]) -> tuple[str, str]:
    """(Lambda API path, function logical id) of an AWS_PROXY integration's URI."""
    parts = integration["Uri"]["Fn::Join"][1]
    (function,) = [part for part in parts if isinstance(part, dict) and "Fn::GetAtt" in part]
    text = "".join(part for part in parts if isinstance(part, str))
    return text, function["Fn::GetAtt"][0]


@pytest.mark.parametrize(("path", "method"), sorted(STREAM_ROUTES))
def test_run_route_streams_from_the_stream_function(synth: Synth, path: str, method: str) -> None:
    props = _methods(synth)[(path, method)]
    integration = props["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert integration["ResponseTransferMode"] == "STREAM"
    # API Gateway keeps a streamed integration open up to 15 minutes, not 29 seconds.
    assert integration["TimeoutInMillis"] == 15 * 60 * 1000
    uri, function_id = _integration_target(integration)
    assert function_id == synth.function_id(STREAM_HANDLER)
    assert ":lambda:path/2021-11-15/functions/" in uri
    assert uri.endswith("/response-streaming-invocations")
    assert props["AuthorizationType"] == "CUSTOM"
    assert props["AuthorizerId"] == {"Ref": _authorizer_id(synth)}


def test_every_other_method_is_buffered_on_the_api_function(synth: Synth) -> None:
    api_id = synth.function_id(API_HANDLER)
    for route, props in _methods(synth).items():
        if route in STREAM_ROUTES:
            continue
        integration = props["Integration"]
        assert integration.get("ResponseTransferMode", "BUFFERED") == "BUFFERED", route
        uri, function_id = _integration_target(integration)
        assert (function_id, uri.endswith("/2015-03-31/functions//invocations")) == (
            api_id,
            True,
        ), route


def test_api_gateway_may_invoke_the_stream_function(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com",
            "FunctionName": {"Fn::GetAtt": [synth.function_id(STREAM_HANDLER), "Arn"]},
        },
    )


def test_stream_function_errors_raise_an_alarm(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "Errors",
            "Dimensions": [
                {"Name": "FunctionName", "Value": {"Ref": synth.function_id(STREAM_HANDLER)}}
            ],
        },
    )


def _layer_arn(context: dict[str, Any]) -> Any:
    stack = Stack(App(context=context), "LayerTest")
    return stack.resolve(web_adapter_layer_arn(stack))


def test_web_adapter_layer_version_and_arn_are_context_values() -> None:
    (_, parts) = _layer_arn({LWA_LAYER_VERSION_CONTEXT: "31"})["Fn::Join"]
    assert parts[-1].endswith(":layer:LambdaAdapterLayerArm64:31")
    own = "arn:aws-cn:lambda:cn-north-1:123456789012:layer:MyAdapter:3"
    assert _layer_arn({LWA_LAYER_ARN_CONTEXT: own}) == own


@pytest.mark.parametrize("version", ["latest", "0", "-1", "3.1"])
def test_a_bad_web_adapter_layer_version_fails_synthesis(version: str) -> None:
    with pytest.raises(ValueError, match=LWA_LAYER_VERSION_CONTEXT):
        _layer_arn({LWA_LAYER_VERSION_CONTEXT: version})


# -- node functions and their permissions ----------------------------------------------


def _statements(synth: Synth, role_id: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the role."""
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allowed_actions(synth: Synth, handler: str) -> set[str]:
    return {
        action
        for statement in _statements(synth, synth.role_id(handler))
        for action in _as_list(statement["Action"])
    }


CAPABILITY_ACTIONS: dict[Capability, set[str]] = {
    Capability.SEND_EMAIL: {"ses:SendEmail", "ses:SendRawEmail"},
    Capability.INVOKE_MODEL: {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"},
    Capability.READ_MODEL_SECRETS: {"ssm:GetParameter", "secretsmanager:GetSecretValue"},
    # Which functions each Lambda capability reaches: test_each_node_invokes_only_its_own.
}


@pytest.mark.parametrize("spec", list(NODES.values()), ids=lambda spec: spec.type.value)
def test_node_function_gets_exactly_its_capabilities(synth: Synth, spec: NodeSpec) -> None:
    actions = _allowed_actions(synth, spec.handler)
    # Every node appends step events and handles claim-check payloads.
    assert {"dynamodb:PutItem", "dynamodb:Query", "s3:PutObject", "s3:GetObject*"} <= actions
    for capability, capability_actions in CAPABILITY_ACTIONS.items():
        if capability in spec.capabilities:
            assert capability_actions <= actions, capability
        else:
            assert not capability_actions & actions, capability


@pytest.mark.parametrize(
    ("node_type", "capability", "prefix"),
    [
        (NodeType.EMAIL_SEND, Capability.SEND_EMAIL, "ses:"),
        (NodeType.LLM, Capability.INVOKE_MODEL, "bedrock:"),
    ],
)
def test_only_node_types_declaring_a_capability_reach_its_service(
    synth: Synth, node_type: NodeType, capability: Capability, prefix: str
) -> None:
    allowed = {
        spec.type
        for spec in NODES.values()
        if any(a.startswith(prefix) for a in _allowed_actions(synth, spec.handler))
    }
    assert node_type in allowed
    assert allowed == {spec.type for spec in NODES.values() if capability in spec.capabilities}


def _invocable(synth: Synth, handler: str) -> set[str]:
    """The functions (as JSON of the policy's resource) the handler's role may invoke."""
    return {
        json.dumps(resource)
        for statement in _statements(synth, synth.role_id(handler))
        if "lambda:InvokeFunction" in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    }


def test_each_node_invokes_only_its_own_functions(synth: Synth) -> None:
    sandbox = json.dumps({"Fn::GetAtt": [synth.function_id(SANDBOX_HANDLER), "Arn"]})
    for spec in NODES.values():
        invocable = _invocable(synth, spec.handler)
        if Capability.INVOKE_TOOL_FUNCTIONS in spec.capabilities:
            assert len(invocable) == 1 and "function:stepcanvas-tool-*" in invocable.pop()
        elif Capability.INVOKE_CODE_SANDBOX in spec.capabilities:
            assert invocable == {sandbox}
        else:
            assert not invocable, spec.type


def test_the_code_sandbox_reaches_nothing(synth: Synth) -> None:
    function = synth.resources[synth.function_id(SANDBOX_HANDLER)]["Properties"]
    actions = _allowed_actions(synth, SANDBOX_HANDLER)
    # Its own log group; no table, bucket, X-Ray, nor any setting naming them.
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}, actions
    assert "TracingConfig" not in function or function["TracingConfig"]["Mode"] != "Active"
    assert not {"TABLE_NAME", "BUCKET_NAME"} & function["Environment"]["Variables"].keys()
    # In subnets with no route out, behind a security group that lets nothing out.
    subnets = {_ref(s) for s in function["VpcConfig"]["SubnetIds"]}
    routes = synth.of_type("AWS::EC2::Route")
    assert subnets and not routes
    assert not synth.of_type("AWS::EC2::NatGateway") and not synth.of_type("AWS::EC2::VPCEndpoint")
    (group,) = function["VpcConfig"]["SecurityGroupIds"]
    egress = synth.resources[group["Fn::GetAtt"][0]]["Properties"]["SecurityGroupEgress"]
    # CDK's way of saying "no egress": one rule to an address nobody has.
    assert [rule["CidrIp"] for rule in egress] == ["255.255.255.255/32"]
    assert not synth.of_type("AWS::EC2::SecurityGroupIngress")


def test_http_request_node_cannot_mail_call_models_or_invoke_functions(synth: Synth) -> None:
    actions = _allowed_actions(synth, NODES[NodeType.HTTP_REQUEST].handler)
    assert not {a for a in actions if a.split(":")[0] in {"ses", "bedrock", "lambda"}}


def test_function_timeouts_are_those_the_express_check_counts(synth: Synth) -> None:
    """An Express workflow's worst case is summed from these (functions/core/model/express.py):
    a deployed function allowed longer would let an accepted workflow outlast Express."""
    for spec in NODES.values():
        props = synth.resources[synth.function_id(spec.handler)]["Properties"]
        assert props["Timeout"] == NODE_TYPES.function_seconds(spec.type), spec.type
    runs = synth.resources[synth.function_id(RUNS_HANDLER)]["Properties"]
    assert runs["Timeout"] == NODE_TYPES.runs_function_seconds()


def test_state_machine_role_may_invoke_the_node_and_runs_functions(synth: Synth) -> None:
    invocable = {
        json.dumps(resource)
        for statement in _statements(synth, synth.state_machine_role_id())
        if "lambda:InvokeFunction" in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    }
    handlers = [*(spec.handler for spec in NODES.values()), RUNS_HANDLER]
    expected = {
        json.dumps({"Fn::GetAtt": [synth.function_id(handler), "Arn"]}) for handler in handlers
    }
    assert expected <= invocable


def test_authorizer_only_reads_the_table(synth: Synth) -> None:
    actions = _allowed_actions(synth, AUTHORIZER_HANDLER)
    assert {"dynamodb:GetItem", "dynamodb:Query"} <= actions
    assert not {a for a in actions if a.startswith(("s3:", "states:", "lambda:"))}
    assert not actions & {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}


def test_api_function_manages_prefixed_state_machines_and_passes_only_their_role(
    synth: Synth,
) -> None:
    statements = _statements(synth, synth.role_id(API_HANDLER))
    states = [s for s in statements if _as_list(s["Action"])[0].startswith("states:")]
    assert {action for s in states for action in _as_list(s["Action"])} == {
        "states:CreateStateMachine",
        "states:UpdateStateMachine",
        "states:DeleteStateMachine",
        "states:PublishStateMachineVersion",
        "states:CreateStateMachineAlias",
        "states:UpdateStateMachineAlias",
        "states:DescribeStateMachine",
        "states:StartExecution",
        "states:StartSyncExecution",
        "states:StopExecution",
        "states:DescribeExecution",
        "states:GetExecutionHistory",
    }
    for statement in states:
        assert json.dumps(statement["Resource"]).endswith(':stepcanvas-*"]]}')
    # The other PassRole is the scheduler role's, to Scheduler (test_triggers_stack.py).
    (pass_role,) = [
        s
        for s in statements
        if s["Action"] == "iam:PassRole"
        and s["Condition"]["StringEquals"]["iam:PassedToService"] == "states.amazonaws.com"
    ]
    assert pass_role["Resource"] == {"Fn::GetAtt": [synth.state_machine_role_id(), "Arn"]}


def test_stream_function_starts_stops_and_describes_executions_only(synth: Synth) -> None:
    statements = _statements(synth, synth.role_id(STREAM_HANDLER))
    states = [s for s in statements if _as_list(s["Action"])[0].startswith("states:")]
    assert {action for s in states for action in _as_list(s["Action"])} == {
        "states:StartExecution",
        "states:StartSyncExecution",
        "states:StopExecution",
        "states:DescribeExecution",
    }
    for statement in states:
        assert json.dumps(statement["Resource"]).endswith(':stepcanvas-*"]]}')
    actions = _allowed_actions(synth, STREAM_HANDLER)
    # Records runs, reads their event logs, files and claim-checked outputs.
    assert {"dynamodb:PutItem", "dynamodb:Query", "s3:PutObject", "s3:GetObject*"} <= actions
    # Never mails, calls models, invokes functions or creates state machines.
    assert not {a for a in actions if a.split(":")[0] in {"ses", "bedrock", "lambda", "iam"}}


# -- compliance and the app entry point -------------------------------------------------


def test_app_py_synthesizes_with_no_cdk_nag_or_template_findings(synth: Synth) -> None:
    report = json.loads((synth.outdir / "validation-report.json").read_text())
    violations = [
        (plugin["pluginName"], violation["ruleName"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
    ]
    assert violations == []
    assert "ApiUrl" in synth.template.to_json()["Outputs"]


def test_bare_python_app_py_synthesizes_what_cdk_synth_does(synths: dict[str, Synth]) -> None:
    # Without cdk.json's feature flags the app synthesized another template (or failed).
    templates = {name: synth.template.to_json() for name, synth in synths.items()}
    assert templates["python app.py"] == templates["cdk synth"]


def test_app_starts_from_cdk_json_and_the_cli_context_wins() -> None:
    flag = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"
    project = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    assert project[flag] is True
    assert cdk_app.default_context() == {**CLI_CONTEXT, **project}
    # The jsii kernel (a node process) reads CDK_CONTEXT_JSON, so ask a fresh one.
    probe = (
        "from aws_cdk import App; import app; "
        f"print(App(context=app.default_context()).node.try_get_context({flag!r}))"
    )
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({flag: False}),
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    answer = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert answer.stdout.strip() == "False"


def test_app_writes_to_cdk_out_unless_the_cli_names_a_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CDK_OUTDIR", raising=False)
    assert cdk_app.default_outdir() == str(REPO_ROOT / "cdk.out")
    monkeypatch.setenv("CDK_OUTDIR", "/elsewhere")
    assert cdk_app.default_outdir() is None


def test_stack_outputs_the_api_url_and_the_table_name(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    (table_id,) = synth.of_type("AWS::DynamoDB::Table")
    assert outputs["TableName"]["Value"] == {"Ref": table_id}
    assert "ApiUrl" in outputs
