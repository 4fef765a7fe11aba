"""CDK assertions on the Stepcanvas template, synthesized once by running `python app.py`.

Running the real entry point (as `cdk synth` does, with cdk.json's context) also proves that
app.py applies cdk-nag: an unacknowledged finding fails that synthesis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from functions.core.data.schema import INDEXES, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE
from functions.core.model.workflow import NodeType
from functions.nodes.catalog import NODES, RUNS_HANDLER, Capability, NodeSpec
from infra.api import ROUTES
from infra.lambda_asset import SKIP_DEPENDENCY_INSTALL_ENV

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
        (logical_id,) = (
            logical_id
            for logical_id, role in self.of_type("AWS::IAM::Role").items()
            if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
            == {"Service": "states.amazonaws.com"}
        )
        return logical_id


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk.out")
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    env = {
        **os.environ,
        # What `cdk synth` hands the app: an output directory and cdk.json's context.
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        SKIP_DEPENDENCY_INSTALL_ENV: "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"python app.py failed:\n{result.stderr}")
    template = json.loads((outdir / "Stepcanvas.template.json").read_text())
    return Synth(Template.from_json(template), template["Resources"], outdir)


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


def test_data_bucket_logs_access_and_expires_run_payloads(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LoggingConfiguration": Match.object_like({"DestinationBucketName": Match.any_value()}),
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"Prefix": "runs/", "ExpirationInDays": 90})]
                )
            },
        },
    )


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
    for route, props in _methods(synth).items():
        assert props["AuthorizationType"] == "CUSTOM", route
        assert props["AuthorizerId"] == authorizer, route


def test_static_run_is_a_resource_of_its_own_next_to_id(synth: Synth) -> None:
    paths = set(_resource_paths(synth).values())
    assert {"/v1/workflows/run", "/v1/workflows/{id}", "/v1/workflows/{id}/run"} <= paths
    assert ("/v1/workflows/run", "POST") in _methods(synth)


def test_paths_not_listed_still_reach_the_api_function(synth: Synth) -> None:
    methods = _methods(synth)
    for path in ("/{proxy+}", "/v1/{proxy+}", "/v1/workflows/run/{proxy+}"):
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
    Capability.INVOKE_TOOL_FUNCTIONS: {"lambda:InvokeFunction"},
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
        (NodeType.TOOL, Capability.INVOKE_TOOL_FUNCTIONS, "lambda:"),
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


def test_http_request_node_cannot_mail_call_models_or_invoke_functions(synth: Synth) -> None:
    actions = _allowed_actions(synth, NODES[NodeType.HTTP_REQUEST].handler)
    assert not {a for a in actions if a.split(":")[0] in {"ses", "bedrock", "lambda"}}


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
        "states:DescribeStateMachine",
        "states:StartExecution",
        "states:StopExecution",
        "states:DescribeExecution",
        "states:GetExecutionHistory",
    }
    for statement in states:
        assert json.dumps(statement["Resource"]).endswith(':stepcanvas-*"]]}')
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role["Resource"] == {"Fn::GetAtt": [synth.state_machine_role_id(), "Arn"]}


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
