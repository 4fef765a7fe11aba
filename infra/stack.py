"""The Stepcanvas stack: storage, engine, triggers, API and alarms, sharing one code asset."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from functions.nodes.catalog import RUNS_FUNCTION_NAME
from infra.api import Api
from infra.engine import Engine, run_environment
from infra.lambda_asset import lambda_code
from infra.monitoring import Monitoring
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
        Monitoring(
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
            dead_letter_queues={
                "trigger": triggers.dead_letter_queue,
                "retention": retention.failures,
            },
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

    def _setting(self, key: str, default: str) -> str:
        value = self.node.try_get_context(key)
        return str(value) if value else default
