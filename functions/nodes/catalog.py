"""Every node type: its config model, its Lambda handler and what its function may do.

infra/ builds one function per entry (granting exactly `capabilities`), local/ registers
the same functions with moto, and validation checks configs against `config`.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from enum import StrEnum

from functions.core.model.workflow import NodeType
from functions.nodes.answer.entities import AnswerConfig
from functions.nodes.assigner.entities import AssignerConfig
from functions.nodes.code.entities import CodeConfig
from functions.nodes.email_send.entities import EmailSendConfig
from functions.nodes.end.entities import EndConfig
from functions.nodes.entities import NodeConfig
from functions.nodes.http_request.entities import HttpRequestConfig
from functions.nodes.if_else.entities import IfElseConfig
from functions.nodes.iteration.entities import IterationConfig
from functions.nodes.list_operator.entities import ListOperatorConfig
from functions.nodes.llm.entities import LlmConfig
from functions.nodes.loop.entities import LoopConfig
from functions.nodes.parameter_extractor.entities import ParameterExtractorConfig
from functions.nodes.question_classifier.entities import QuestionClassifierConfig
from functions.nodes.start.entities import StartConfig
from functions.nodes.template_transform.entities import TemplateTransformConfig
from functions.nodes.tool.entities import ToolConfig
from functions.nodes.variable_aggregator.entities import VariableAggregatorConfig


class Capability(StrEnum):
    """AWS permissions beyond the event log and payload bucket that every node has."""

    SEND_EMAIL = "send-email"
    INVOKE_MODEL = "invoke-model"
    READ_MODEL_SECRETS = "read-model-secrets"
    READ_OBJECTS = "read-objects"
    INVOKE_TOOL_FUNCTIONS = "invoke-tool-functions"
    # Run user code in the code sandbox function (and learn its ARN).
    INVOKE_CODE_SANDBOX = "invoke-code-sandbox"


# Seconds for the functions that call nothing outside (their templates and conditions run
# under limits of a few seconds): what an Express workflow's worst case counts per node.
LOCAL_WORK_TIMEOUT = 15

# Nodes that ask a model: call it, and read its endpoint's key.
MODEL_CAPABILITIES = frozenset({Capability.INVOKE_MODEL, Capability.READ_MODEL_SECRETS})


@dataclass(frozen=True)
class NodeSpec:
    type: NodeType
    package: str
    config: builtins.type[NodeConfig]
    capabilities: frozenset[Capability] = frozenset()
    # Seconds; the Lambda's own limit. Task TimeoutSeconds may be lower per node.
    timeout: int = 60
    memory: int = 512

    @property
    def handler(self) -> str:
        return f"functions.nodes.{self.package}.handler.handler"

    @property
    def function_name(self) -> str:
        return f"node-{self.type.value}"


NODES: dict[NodeType, NodeSpec] = {
    spec.type: spec
    for spec in (
        NodeSpec(
            NodeType.LLM,
            "llm",
            LlmConfig,
            MODEL_CAPABILITIES,
            timeout=300,
        ),
        NodeSpec(NodeType.HTTP_REQUEST, "http_request", HttpRequestConfig, timeout=300),
        NodeSpec(
            NodeType.TOOL,
            "tool",
            ToolConfig,
            frozenset({Capability.READ_OBJECTS, Capability.INVOKE_TOOL_FUNCTIONS}),
        ),
        NodeSpec(NodeType.IF_ELSE, "if_else", IfElseConfig, timeout=LOCAL_WORK_TIMEOUT),
        NodeSpec(
            NodeType.EMAIL_SEND, "email_send", EmailSendConfig, frozenset({Capability.SEND_EMAIL})
        ),
        NodeSpec(NodeType.START, "start", StartConfig, timeout=LOCAL_WORK_TIMEOUT),
        NodeSpec(NodeType.END, "end", EndConfig, timeout=LOCAL_WORK_TIMEOUT),
        NodeSpec(NodeType.ANSWER, "answer", AnswerConfig, timeout=LOCAL_WORK_TIMEOUT),
        NodeSpec(
            NodeType.TEMPLATE_TRANSFORM,
            "template_transform",
            TemplateTransformConfig,
            timeout=LOCAL_WORK_TIMEOUT,
        ),
        NodeSpec(
            NodeType.VARIABLE_AGGREGATOR,
            "variable_aggregator",
            VariableAggregatorConfig,
            timeout=LOCAL_WORK_TIMEOUT,
        ),
        NodeSpec(NodeType.ITERATION, "iteration", IterationConfig, timeout=LOCAL_WORK_TIMEOUT),
        NodeSpec(NodeType.LOOP, "loop", LoopConfig, timeout=LOCAL_WORK_TIMEOUT),
        # The user's code runs in a child process capped at 256 MB: keep headroom above it.
        NodeSpec(
            NodeType.CODE,
            "code",
            CodeConfig,
            frozenset({Capability.INVOKE_CODE_SANDBOX}),
            timeout=60,
        ),
        NodeSpec(
            NodeType.LIST_OPERATOR, "list_operator", ListOperatorConfig, timeout=LOCAL_WORK_TIMEOUT
        ),
        NodeSpec(NodeType.ASSIGNER, "assigner", AssignerConfig, timeout=LOCAL_WORK_TIMEOUT),
        NodeSpec(
            NodeType.PARAMETER_EXTRACTOR,
            "parameter_extractor",
            ParameterExtractorConfig,
            MODEL_CAPABILITIES,
            timeout=300,
        ),
        NodeSpec(
            NodeType.QUESTION_CLASSIFIER,
            "question_classifier",
            QuestionClassifierConfig,
            MODEL_CAPABILITIES,
            timeout=300,
        ),
    )
}

RUNS_HANDLER = "functions.runs.handler.handler"
RUNS_FUNCTION_NAME = "runs"
# Seconds; its Tasks (a run's finalize, a failure's recovery) only read and write the run's
# record and log.
RUNS_TIMEOUT_SECONDS = 30
# The function a code node's user code runs in (infra/sandbox.py).
SANDBOX_HANDLER = "functions.sandbox.handler.handler"
SANDBOX_FUNCTION_NAME = "code-sandbox"
