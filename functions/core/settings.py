"""Runtime settings, read once from the environment (CDK sets them in AWS, local/ locally)."""

from __future__ import annotations

import json
import os
from functools import lru_cache

from pydantic import BaseModel, Field, field_validator


class Settings(BaseModel):
    region: str = Field(default="us-east-1", alias="AWS_REGION")
    table_name: str = Field(default="stepcanvas", alias="TABLE_NAME")
    bucket_name: str = Field(default="stepcanvas-data", alias="BUCKET_NAME")
    # Node type -> Lambda function ARN; the compiler points each Task at one of these.
    node_function_arns: dict[str, str] = Field(default_factory=dict, alias="NODE_FUNCTION_ARNS")
    runs_function_arn: str = Field(default="", alias="RUNS_FUNCTION_ARN")
    state_machine_role_arn: str = Field(default="", alias="STATE_MACHINE_ROLE_ARN")
    state_machine_prefix: str = Field(default="stepcanvas", alias="STATE_MACHINE_PREFIX")
    # Which model provider `ai-generate`/`llm` nodes use: local | bedrock | openai.
    llm_provider: str = Field(default="local", alias="LLM_PROVIDER")
    llm_model: str = Field(default="", alias="LLM_MODEL")
    openai_base_url: str = Field(default="https://api.openai.com/v1", alias="OPENAI_BASE_URL")
    # Name of the SSM SecureString / secret that holds the OpenAI-compatible key.
    openai_api_key_parameter: str = Field(default="", alias="OPENAI_API_KEY_PARAMETER")
    # Hosts/CIDRs the HTTP node may reach although they are private (tests, intranets).
    http_allow_list: list[str] = Field(default_factory=list, alias="HTTP_ALLOW_LIST")
    email_sender: str = Field(default="noreply@stepcanvas.local", alias="EMAIL_SENDER")
    # Node outputs larger than this travel through S3 as a reference (claim check).
    payload_inline_limit: int = Field(default=32 * 1024, alias="PAYLOAD_INLINE_LIMIT")
    max_nodes: int = Field(default=500, alias="MAX_NODES")
    max_edges: int = Field(default=2000, alias="MAX_EDGES")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")

    model_config = {"populate_by_name": True}

    @field_validator("node_function_arns", mode="before")
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
