"""The HTTP face: API Gateway (REST) in front of the api function, behind the key authorizer."""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from functions.api import docs
from functions.api.viewer import pages as viewer_pages
from infra.compliance import acknowledge, acknowledge_wildcards, resource_finding
from infra.engine import SERVICE_PREFIX, Engine, run_environment, states_arn
from infra.lambda_function import LOG_RETENTION, ServiceFunction
from infra.storage import Storage
from infra.stream import STREAM_TIMEOUT, stream_function
from infra.triggers import Triggers

STAGE_NAME = "prod"
THROTTLE_RATE_LIMIT = 100  # requests per second, steady state
THROTTLE_BURST_LIMIT = 200
# REST integrations time out at 29 s; blocking runs answer "still running" before that.
API_TIMEOUT = Duration.seconds(29)
# A synchronous Lambda event is at most 6 MB, and uploads arrive base64-encoded (+33 %),
# so larger files cannot reach the function through API Gateway at all.
UPLOAD_MAX_BYTES = 4 * 1024 * 1024

# Routes the api function serves that API Gateway knows by name. Every other path still
# reaches the function through the {proxy+} catch-alls; these exist so static segments
# ("run", "logs", "import") are resources of their own that API Gateway prefers over {id},
# and so each route gets its own metrics and, later, its own integration settings.
ROUTES: dict[str, tuple[str, ...]] = {
    "/v1/workflows": ("GET", "POST"),
    "/v1/workflows/import": ("POST",),
    "/v1/workflows/run": ("POST",),
    "/v1/workflows/run/{id}": ("GET",),
    "/v1/workflows/run/{id}/events": ("GET",),
    "/v1/workflows/logs": ("GET",),
    "/v1/workflows/{id}": ("GET", "PUT", "DELETE"),
    "/v1/workflows/{id}/run": ("POST",),
    "/v1/workflows/{id}/runs": ("GET",),
    "/v1/workflows/{id}/runs/{runId}": ("GET",),
    "/v1/workflows/{id}/webhook/rotate": ("POST",),
    "/v1/workflows/{id}/versions": ("GET",),
    "/v1/runs/{runId}": ("GET",),
    "/v1/runs/{runId}/events": ("GET",),
    "/v1/keys": ("GET", "POST"),
    "/v1/keys/{keyId}": ("DELETE",),
    "/v1/events": ("POST",),
    "/workflow/canvas/draft": ("POST",),
    "/workflow/canvas/publish": ("POST",),
    "/workflow/canvas/run": ("POST",),
    "/workflow/canvas/run/record": ("POST",),
    "/workflow/module/list": ("POST",),
    "/workflow/trace": ("POST",),
    "/apps": ("GET",),
    "/apps/{appId}/workflows": ("GET",),
    "/apps/{appId}/workflows/discover": ("GET",),
    "/apps/{appId}/workflows/discover/{id}": ("GET",),
    "/apps/{appId}/workflows/discover/{id}/versions/{version}": ("GET",),
    "/apps/{appId}/workflows/discover/{id}/runs": ("POST",),
    "/apps/{appId}/workflows/discover/{id}/runs/{runId}/cancel": ("POST",),
    "/apps/{appId}/workflows/{id}": ("GET",),
    "/apps/{appId}/workflows/{id}/versions": ("GET",),
    "/apps/{appId}/workflows/{id}/versions/{version}": ("GET",),
    "/apps/{appId}/workflows/{id}/runs": ("GET", "POST"),
    "/apps/{appId}/workflows/{id}/runs/{runId}": ("GET",),
    "/apps/{appId}/workflows/{id}/runs/{runId}/replay": ("POST",),
    "/apps/{appId}/workflows/{id}/runs/{runId}/cancel": ("POST",),
    "/apps/{appId}/workflows/{id}/runs/{runId}/retention": ("PATCH",),
}
# The only routes API Gateway lets through without a key; every route above goes through the
# key authorizer. A webhook caller holds no Stepcanvas key: the api function authenticates
# it by an HMAC signature over timestamp and body with the workflow's webhook secret. No
# catch-all is added below these paths, so nothing else becomes reachable without a key.
WEBHOOK_PATH = "/v1/hooks/{id}"
UNAUTHENTICATED_ROUTES: dict[str, tuple[str, ...]] = {
    # Webhooks accept what callers send; the api function answers the methods it allows.
    WEBHOOK_PATH: ("GET", "POST", "PUT", "PATCH", "DELETE"),
    # The API's description and Swagger UI: public, they hold no data.
    **dict.fromkeys(docs.PUBLIC_PATHS, ("GET",)),
    # The run viewer's pages and static files: public, the data they show needs a key.
    **dict.fromkeys(viewer_pages.PUBLIC_PATHS, ("GET",)),
}
# The routes that start a run go to the stream function instead (infra/stream.py): they may
# answer as a server-sent event stream (Dify's `response_mode: streaming`, Cortex's
# `stream: true`), which only Lambda response streaming can carry; API Gateway cannot route
# on the body, so every such request goes there. functions/stream/app.py serves exactly these.
STREAM_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("/v1/workflows/run", "POST"),
        ("/v1/workflows/{id}/run", "POST"),
        ("/v1/workflows/run/{id}/events", "GET"),
        ("/v1/runs/{runId}/events", "GET"),
        ("/apps/{appId}/workflows/{id}/runs", "POST"),
        ("/apps/{appId}/workflows/{id}/runs/{runId}/replay", "POST"),
        ("/apps/{appId}/workflows/discover/{id}/runs", "POST"),
    }
)

# Errors API Gateway answers itself, in the API's error shape {code, message, status}.
_GATEWAY_ERRORS = {
    apigw.ResponseType.UNAUTHORIZED: ("unauthorized", 401),
    apigw.ResponseType.ACCESS_DENIED: ("forbidden", 403),
    apigw.ResponseType.THROTTLED: ("too_many_requests", 429),
}


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        storage: Storage,
        engine: Engine,
        triggers: Triggers,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = self._api_function(code, storage, engine, triggers)
        self.stream_function = stream_function(
            self, "stream", code=code, storage=storage, engine=engine
        )
        self._stream_integration = apigw.LambdaIntegration(
            self.stream_function,
            # CDK (since 2.230) renders STREAM as both halves API Gateway needs: the
            # integration's responseTransferMode and the URI of Lambda's
            # InvokeWithResponseStream (`2021-11-15/functions/<arn>/response-streaming-
            # invocations`) instead of Invoke (`2015-03-31/…/invocations`), so no escape
            # hatch is needed; tests/infra assert both in the template.
            response_transfer_mode=apigw.ResponseTransferMode.STREAM,
            # Streamed integrations may run 15 minutes instead of 29 seconds.
            timeout=STREAM_TIMEOUT,
            # lambda:InvokeFunction also authorises InvokeWithResponseStream.
            scope_permission_to_method=False,
        )
        authorizer = apigw.RequestAuthorizer(
            self,
            "KeyAuthorizer",
            handler=self._authorizer_function(code, storage),
            # A REQUEST authorizer answers 401 itself when any identity source is missing,
            # and keys arrive in X-API-Key *or* Authorization. Without caching API Gateway
            # needs no identity source, so the function sees every request and picks the
            # header; no caching also means a revoked key stops working at once.
            identity_sources=[],
            results_cache_ttl=Duration.seconds(0),
        )
        access_logs = logs.LogGroup(self, "AccessLogs", retention=LOG_RETENTION)
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="Stepcanvas management, canvas and service APIs",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Uploads (/v1/files/upload) pass through to the function base64-encoded.
            binary_media_types=["multipart/form-data", "application/octet-stream"],
            # API Gateway writes its logs through one account-wide role; without it neither
            # the access log nor execution logging below can be delivered.
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=_access_log_format(),
                # Errors only, and never bodies: requests carry workflow inputs and keys.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=THROTTLE_RATE_LIMIT,
                throttling_burst_limit=THROTTLE_BURST_LIMIT,
            ),
            default_integration=apigw.LambdaIntegration(
                self.function,
                # One invoke permission for the whole API: a statement per method would
                # outgrow the function's 20 KB resource policy as routes are added.
                scope_permission_to_method=False,
            ),
            default_method_options=apigw.MethodOptions(
                authorizer=authorizer,
                authorization_type=apigw.AuthorizationType.CUSTOM,
            ),
        )
        # Bodies are validated by the api function, which names the bad field in the API's
        # error shape; API Gateway checks only that declared path parameters are present.
        self._validator = self.rest_api.add_request_validator(
            "PathParameters", validate_request_parameters=True, validate_request_body=False
        )
        self._add_routes()
        for response_type, (code_name, status) in _GATEWAY_ERRORS.items():
            self.rest_api.add_gateway_response(
                f"{code_name}-response",
                type=response_type,
                status_code=str(status),
                templates={
                    "application/json": (
                        f'{{"code": "{code_name}", "message": $context.error.messageString,'
                        f' "status": {status}}}'
                    )
                },
            )
        self._acknowledge_findings()

    @property
    def url(self) -> str:
        return self.rest_api.url

    def _authorizer_function(self, code: lambda_.Code, storage: Storage) -> lambda_.IFunction:
        authorizer = ServiceFunction(
            self,
            "authorizer",
            code=code,
            handler="functions.authorizer.handler.handler",
            service=f"{SERVICE_PREFIX}-authorizer",
            timeout=Duration.seconds(10),
            environment={"TABLE_NAME": storage.table.table_name},
        )
        storage.grant_table(authorizer.role, write=False)
        return authorizer.function

    def _api_function(
        self, code: lambda_.Code, storage: Storage, engine: Engine, triggers: Triggers
    ) -> lambda_.IFunction:
        api = ServiceFunction(
            self,
            "api",
            code=code,
            handler="functions.api.handler.handler",
            service=f"{SERVICE_PREFIX}-api",
            timeout=API_TIMEOUT,
            memory_size=1024,
            environment={
                **run_environment(self, storage=storage, engine=engine),
                "UPLOAD_MAX_BYTES": str(UPLOAD_MAX_BYTES),
                **triggers.api_environment,
            },
        )
        storage.grant_table(api.role, write=True)
        storage.grant_bucket(api.role, write=True)
        _grant_state_machines(api.role, engine.state_machine_role)
        # Saving a workflow creates or removes its schedules and rules; the policy exists
        # before the function does, as CDK arranges for the role's own policy.
        api.function.node.add_dependency(triggers.grant_management(api.role))
        return api.function

    def _add_routes(self) -> None:
        resources: dict[str, apigw.IResource] = {"": self.rest_api.root}
        routes = [(path, methods, False) for path, methods in ROUTES.items()]
        routes += [(path, methods, True) for path, methods in UNAUTHENTICATED_ROUTES.items()]
        for path, methods, public in routes:
            resource = self._resource(resources, path)
            for method in methods:
                added = resource.add_method(
                    method,
                    # None: the API's default integration, the api function.
                    self._stream_integration if (path, method) in STREAM_ROUTES else None,
                    request_validator=self._validator,
                    request_parameters=_path_parameters(path),
                    # NONE without an authorizer overrides the API's default authorizer.
                    authorization_type=apigw.AuthorizationType.NONE if public else None,
                )
                if public:
                    _acknowledge_unauthenticated(added, path)
        # API Gateway is not documented to fall back to a shallower {proxy+} once a static
        # resource matched a prefix, so every resource without a variable child gets its own
        # catch-all; the api function answers routes not listed above (and 404s). Paths of
        # unauthenticated routes get none: they serve exactly their listed methods.
        for path, resource in list(resources.items()):
            if path in UNAUTHENTICATED_ROUTES:
                continue
            if not any(child.startswith("{") for child in _children(resources, path)):
                proxy_path = f"{path}/{{proxy+}}"
                proxy = resource.add_resource("{proxy+}")
                proxy.add_method(
                    "ANY",
                    request_validator=self._validator,
                    request_parameters=_path_parameters(proxy_path),
                )

    @staticmethod
    def _resource(resources: dict[str, apigw.IResource], path: str) -> apigw.IResource:
        parent_path, _, part = path.rpartition("/")
        if path not in resources:
            parent = Api._resource(resources, parent_path) if parent_path else resources[""]
            resources[path] = parent.add_resource(part)
        return resources[path]

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "Clients authenticate with Stepcanvas API keys (hashed in DynamoDB, scoped to a "
            "tenant, Dify-compatible 'Bearer app-…' keys), which a Cognito user pool cannot "
            "verify; the Lambda REQUEST authorizer does, on every method but the webhook "
            "entry points (acknowledged on those methods).",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG3",
            "No WAF web ACL: every method but the HMAC-signed webhooks requires a key checked "
            "by the authorizer, and the stage is throttled; an ACL would add a fixed monthly "
            "cost to an API that is meant to cost nothing while idle. Attach one per "
            "deployment if needed.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG2",
            "API Gateway validates the declared path parameters (validator PathParameters); "
            "bodies are validated by the api function, which answers 4xx naming the field in "
            "the API's {code, message, status} shape instead of API Gateway's generic "
            "'Invalid request body'.",
        )
        cloud_watch_role = self.rest_api.node.find_child("CloudWatchRole")
        acknowledge(
            cloud_watch_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level API Gateway logging role uses the AWS managed policy made for "
            "it; API Gateway names its execution log groups itself.",
        )


def _acknowledge_unauthenticated(method: apigw.Method, path: str) -> None:
    reason = (
        (
            "Webhook entry point (POST /v1/hooks/{id} and the other methods callers use): "
            "callers hold no Stepcanvas key or Cognito identity; the api function "
            "authenticates every request by an HMAC-SHA256 signature over timestamp and body "
            "with the workflow's own webhook secret, rejecting stale timestamps, before any "
            "run is started. The stage is throttled."
        )
        if path == WEBHOOK_PATH
        else (
            "The run viewer's pages and static files: the same HTML, script and styles for "
            "everyone, with no data in them; the script reads runs with the key the user "
            "types into the page, sent in a header to routes that require it. The stage "
            "is throttled."
        )
        if path in viewer_pages.PUBLIC_PATHS
        else (
            "The API's OpenAPI document and Swagger UI: generated from the routes, they "
            "describe the API and read no data; every route they describe needs a key. "
            "The stage is throttled."
        )
    )
    acknowledge(method, "AwsSolutions-APIG4", reason)
    acknowledge(method, "AwsSolutions-COG4", reason)


def _grant_state_machines(role: iam.IRole, state_machine_role: iam.IRole) -> None:
    """The api function creates, versions and runs the compiled state machines (the
    pattern covers their versions `…:<n>`, the `…:live` alias and each workflow's Express
    machine `…-express`); a blocking run of an Express one is a StartSyncExecution."""
    state_machines, executions = states_arn("stateMachine"), states_arn("execution")
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "states:CreateStateMachine",
                "states:UpdateStateMachine",
                "states:DeleteStateMachine",
                "states:PublishStateMachineVersion",
                "states:CreateStateMachineAlias",
                "states:UpdateStateMachineAlias",
                "states:DescribeStateMachine",
                "states:StartExecution",
                "states:StartSyncExecution",
            ],
            resources=[state_machines],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "states:StopExecution",
                "states:DescribeExecution",
                "states:GetExecutionHistory",
            ],
            resources=[executions],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[state_machine_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}},
        )
    )
    acknowledge_wildcards(
        role,
        [resource_finding(state_machines), resource_finding(executions)],
        "State machines are created per workflow at run time; the api function may touch "
        f"only those named {SERVICE_PREFIX}-* and their executions.",
    )


def _children(resources: dict[str, apigw.IResource], path: str) -> list[str]:
    return [
        other.rpartition("/")[2]
        for other in resources
        if other and other.rpartition("/")[0] == path
    ]


def _path_parameters(path: str) -> dict[str, bool]:
    names = [part.strip("{}+") for part in path.split("/") if part.startswith("{")]
    return {f"method.request.path.{name}": True for name in names}


def _access_log_format() -> apigw.AccessLogFormat:
    fields = {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latency": "$context.responseLatency",
        "integrationLatency": "$context.integrationLatency",
        "tenantId": "$context.authorizer.tenantId",
        "keyId": "$context.authorizer.keyId",
        "error": "$context.error.message",
        "authorizerError": "$context.authorizer.error",
        "xrayTraceId": "$context.xrayTraceId",
    }
    return apigw.AccessLogFormat.custom(json.dumps(fields))
