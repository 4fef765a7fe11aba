"""Runtime settings, read once from the environment (CDK sets them in AWS, local/ locally)."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field, field_validator


class Settings(BaseModel):
    region: str = Field(default="us-east-1", alias="AWS_REGION")
    table_name: str = Field(default="stepcanvas", alias="TABLE_NAME")
    bucket_name: str = Field(default="stepcanvas-data", alias="BUCKET_NAME")
    # Node type -> Lambda function ARN; the compiler points each Task at one of these.
    node_function_arns: dict[str, str] = Field(default_factory=dict, alias="NODE_FUNCTION_ARNS")
    runs_function_arn: str = Field(default="", alias="RUNS_FUNCTION_ARN")
    # What the core validates and compiles with (functions/core/catalog.py): module:attribute.
    node_catalog: str = Field(default="functions.wiring:NODE_TYPES", alias="NODE_CATALOG")
    # The function code nodes run user code in (functions/sandbox); none: in-process.
    code_sandbox_function_arn: str = Field(default="", alias="CODE_SANDBOX_FUNCTION_ARN")
    state_machine_role_arn: str = Field(default="", alias="STATE_MACHINE_ROLE_ARN")
    state_machine_prefix: str = Field(default="stepcanvas", alias="STATE_MACHINE_PREFIX")
    # Where compiled state machines log failed executions (set by CDK; empty locally).
    state_machine_log_group_arn: str = Field(default="", alias="STATE_MACHINE_LOG_GROUP_ARN")
    # Whether compiled state machines trace executions in X-Ray (CDK sets it; off locally).
    state_machine_tracing: bool = Field(default=False, alias="STATE_MACHINE_TRACING")
    # Which model provider `ai-generate`/`llm` nodes use: local | bedrock | openai.
    llm_provider: str = Field(default="local", alias="LLM_PROVIDER")
    llm_model: str = Field(default="", alias="LLM_MODEL")
    # Dify documents name models of Dify's providers: "provider/model" or "model" -> the
    # model id to use with LLM_PROVIDER (see functions/nodes/llm/models.py).
    dify_model_map: dict[str, str] = Field(default_factory=dict, alias="DIFY_MODEL_MAP")
    # Canned replies of the local provider: prompt substring -> reply (or
    # {"text", "error", "delay_ms"}); see LocalProvider.
    local_llm_replies: dict[str, Any] = Field(default_factory=dict, alias="LOCAL_LLM_REPLIES")
    openai_base_url: str = Field(default="https://api.openai.com/v1", alias="OPENAI_BASE_URL")
    # Name of the SSM SecureString / secret that holds the OpenAI-compatible key.
    openai_api_key_parameter: str = Field(default="", alias="OPENAI_API_KEY_PARAMETER")
    # Hosts/CIDRs (each optionally `:port`) the HTTP node may reach although they are
    # private (tests, intranets); guard.py parses them and refuses a malformed one.
    http_allow_list: list[str] = Field(default_factory=list, alias="HTTP_ALLOW_LIST")
    email_sender: str = Field(default="noreply@stepcanvas.local", alias="EMAIL_SENDER")
    # Node outputs larger than this travel through S3 as a reference (claim check).
    payload_inline_limit: int = Field(default=32 * 1024, alias="PAYLOAD_INLINE_LIMIT")
    # Triggers (infra/triggers.py in AWS, local/aws.py locally): every schedule, rule and
    # webhook lands in the trigger queue, which the dispatcher function drains.
    trigger_queue_url: str = Field(default="", alias="TRIGGER_QUEUE_URL")
    trigger_queue_arn: str = Field(default="", alias="TRIGGER_QUEUE_ARN")
    schedule_group: str = Field(default="stepcanvas", alias="SCHEDULE_GROUP")
    # The role EventBridge Scheduler assumes to send to the queue (and nothing else).
    scheduler_role_arn: str = Field(default="", alias="SCHEDULER_ROLE_ARN")
    # The custom bus POST /v1/events publishes to; S3 rules live on the default bus.
    event_bus_name: str = Field(default="stepcanvas-events", alias="EVENT_BUS_NAME")
    # Secrets Manager secret whose value webhook secrets are derived from.
    webhook_key_secret_arn: str = Field(default="", alias="WEBHOOK_KEY_SECRET_ARN")
    max_nodes: int = Field(default=500, alias="MAX_NODES")
    max_edges: int = Field(default=2000, alias="MAX_EDGES")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    # Service API (Dify face). Blocking runs answer "running" after this many seconds:
    # below API Gateway's 29 s integration timeout, so no client ever sees a 504.
    service_blocking_seconds: float = Field(default=25, gt=0, alias="SERVICE_BLOCKING_SECONDS")
    # A stream ends (with an `error` event; the run goes on) before the stream function's
    # 15-minute Lambda limit would cut it.
    service_stream_seconds: float = Field(default=840, gt=0, alias="SERVICE_STREAM_SECONDS")
    # Polling the run and its event log: from the minimum, backing off to the maximum
    # while nothing happens, so short runs answer fast and long ones read little.
    service_poll_min_seconds: float = Field(default=0.02, gt=0, alias="SERVICE_POLL_MIN_SECONDS")
    service_poll_max_seconds: float = Field(default=0.1, gt=0, alias="SERVICE_POLL_MAX_SECONDS")
    service_ping_seconds: float = Field(default=10, gt=0, alias="SERVICE_PING_SECONDS")
    # /v1/files/upload refuses bigger files (Dify's default document limit).
    upload_max_bytes: int = Field(default=15 * 1024 * 1024, gt=0, alias="UPLOAD_MAX_BYTES")

    model_config = {"populate_by_name": True}

    @field_validator("node_function_arns", "dify_model_map", "local_llm_replies", mode="before")
    @classmethod
    def _json_map(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) and value else value or {}

    @field_validator("http_allow_list", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    known = {field.alias for field in Settings.model_fields.values() if field.alias}
    return Settings.model_validate({k: v for k, v in os.environ.items() if k in known})
