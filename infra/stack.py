"""The Stepcanvas stack: storage, engine, triggers, API, alarms and the dashboard, sharing
one code asset."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from functions.nodes.catalog import NODES, RUNS_FUNCTION_NAME, Capability
from infra.api import Api
from infra.engine import SERVICE_PREFIX, Engine, run_environment
from infra.lambda_asset import lambda_code
from infra.lambda_function import ServiceFunction
from infra.monitoring import ALARM_EMAIL_CONTEXT, Monitoring
from infra.observability import Dashboard
from infra.retention import Retention
from infra.storage import Storage
from infra.triggers import Triggers

# Deployment settings, overridable with `cdk deploy -c key=value` or in cdk.json.
EMAIL_SENDER_CONTEXT = "stepcanvas:emailSender"
LLM_PROVIDER_CONTEXT = "stepcanvas:llmProvider"
DEFAULT_EMAIL_SENDER = "noreply@stepcanvas.local"
DEFAULT_LLM_PROVIDER = "bedrock"


class StepcanvasStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        code = lambda_code()
        storage = Storage(self, "Storage")
        engine = Engine(
            self,
            "Engine",
            code=code,
            storage=storage,
            llm_provider=self._setting(LLM_PROVIDER_CONTEXT, DEFAULT_LLM_PROVIDER),
            email_sender=self._setting(EMAIL_SENDER_CONTEXT, DEFAULT_EMAIL_SENDER),
        )
        # Before the API: the api function manages the triggers (schedules, rules, webhook
        # messages), while nothing of the triggers refers back to the API.
        triggers = Triggers(
            self,
            "Triggers",
            code=code,
            storage=storage,
            engine=engine,
            run_environment=run_environment(self, storage=storage, engine=engine),
        )
        api = Api(self, "Api", code=code, storage=storage, engine=engine, triggers=triggers)
        retention = Retention(self, "Retention", code=code, storage=storage)
        dead_letter_queues = {
            "trigger": triggers.dead_letter_queue,
            "retention": retention.failures,
        }
        monitoring = Monitoring(
            self,
            "Monitoring",
            rest_api=api.rest_api,
            functions={
                "api": api.function,
                "stream": api.stream_function,
                RUNS_FUNCTION_NAME: engine.runs_function,
                "dispatcher": triggers.dispatcher,
                "retention": retention.function,
            },
            dead_letter_queues=dead_letter_queues,
            alarm_email=self._optional_setting(ALARM_EMAIL_CONTEXT),
        )
        dashboard = Dashboard(
            self,
            "Dashboard",
            rest_api=api.rest_api,
            # Every function of the stack, by its service name without the prefix.
            functions={
                found.service.removeprefix(f"{SERVICE_PREFIX}-"): found.function
                for found in self.node.find_all()
                if isinstance(found, ServiceFunction)
            },
            dead_letter_queues=dead_letter_queues,
            node_types=[spec.type.value for spec in NODES.values()],
            model_node_types=[
                spec.type.value
                for spec in NODES.values()
                if Capability.INVOKE_MODEL in spec.capabilities
            ],
        )
        # Fixed output names, so scripts can read `Stepcanvas.ApiUrl` after a deploy.
        CfnOutput(self, "ApiUrl", value=api.url, description="Base URL of the API")
        CfnOutput(
            self,
            "TableName",
            value=storage.table.table_name,
            description="The table; `python -m tools.bootstrap_key --table` takes it",
        )
        CfnOutput(
            self,
            "DataBucketName",
            value=storage.bucket.bucket_name,
            description="The data bucket; S3 triggers watch tenant prefixes of it",
        )
        CfnOutput(
            self,
            "TriggerQueueUrl",
            value=triggers.queue.queue_url,
            description="The queue every trigger lands in (drained by the dispatcher)",
        )
        CfnOutput(
            self,
            "EventBusName",
            value=triggers.event_bus.event_bus_name,
            description="The bus POST /v1/events publishes to; event triggers are rules on it",
        )
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=monitoring.topic.topic_arn,
            description="Every alarm notifies this topic; subscribe pagers or chat to it",
        )
        CfnOutput(
            self,
            "DashboardName",
            value=dashboard.dashboard.dashboard_name,
            description="The CloudWatch dashboard of this deployment",
        )

    def _setting(self, key: str, default: str) -> str:
        return self._optional_setting(key) or default

    def _optional_setting(self, key: str) -> str | None:
        value = self.node.try_get_context(key)
        return str(value) if value else None
