"""The module catalogue: what the canvas editor's palette can draw.

`POST /workflow/module/list` answers with `module_list()`: one module per node type of the
catalogue (plus the markers where an iteration's or a loop's body starts) and one per
trigger type, each with the JSON Schema of its config, the variables it outputs and the
handles its outgoing edges leave from. The editor builds its forms and its edge rules from
this instead of keeping its own copy of them.

Each schema is generated from the very pydantic model a save validates the config with
(`NODES[type].config`, or for a trigger `Trigger`), so the palette cannot drift from what
is accepted. What only a model validator or a later check enforces (one of `prompt` or
`prompt_template`, a cron expression that parses) is not in a schema; a save still reports
it, naming the field.

Output names are what a reference appends to the node's id (`{{#llm_1.text#}}`); a
trigger's are under the reserved root `trigger` (`{{trigger.data.key}}`). Outputs whose
names come from the config are listed once, with `dynamic: true` and as `name` the config
field that lists them: `variables[].variable` (the `variable` of each item of `variables`),
`outputs.*` (each key of `outputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from functions.core.model import dify_triggers
from functions.core.model.trigger import FIELDS_OF, TRIGGERED_BY, Trigger, TriggerType
from functions.core.model.workflow import (
    BODY_START_TYPES,
    BRANCHING_TYPES,
    CONTAINER_TYPES,
    NodeType,
)
from functions.nodes.catalog import NODES
from functions.nodes.entities import NodeConfig
from functions.nodes.if_else.entities import ELSE_HANDLE

# Dify's handle of an edge that leaves a node which does not branch; the importer reads it
# as no handle at all (functions/core/model/dify_graph.py).
SOURCE_HANDLE = "source"
_DEFS = "#/$defs/"

# The type names Dify's editor gives variables.
VariableType = Literal[
    "string",
    "number",
    "boolean",
    "object",
    "file",
    "array[string]",
    "array[number]",
    "array[boolean]",
    "array[object]",
    "array[file]",
    "array[any]",
    "any",
]


class Category(StrEnum):
    """Where the palette files a module."""

    START = "start"
    MODEL = "model"
    LOGIC = "logic"
    TRANSFORM = "transform"
    TOOL = "tool"
    CONTAINER = "container"
    OUTPUT = "output"
    TRIGGER = "trigger"


class _Camel(BaseModel):
    # The editor's API speaks camelCase; Python code builds these by field name.
    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, frozen=True
    )


class OutputVariable(_Camel):
    """One variable a module outputs, or (`dynamic`) the rule that names several."""

    # The variable's name; for a dynamic entry, the config field that lists the names.
    name: str
    # For a dynamic entry "any" unless every variable it names has one type.
    type: VariableType
    description: str = ""
    dynamic: bool = False
    # Readable only by the nodes of the container's body (an iteration's current item).
    body_only: bool = False


class HandleSpec(_Camel):
    """The handles a module's outgoing edges may leave from.

    A node that does not branch has the one handle "source" and takes every edge out of
    it; a branching one takes only the edges of the handle it chooses, and each of its
    edges must name a handle: `handles` (always there) plus those `dynamic_handles`
    describes (read from the config). `fail_branch`: with the fail-branch error strategy
    the node also has the handle "fail-branch", taken instead when it fails.
    """

    branches: bool
    handles: list[str]
    dynamic_handles: str | None = None
    fail_branch: bool


class Module(_Camel):
    """One thing the canvas can draw."""

    # The node type as the canvas graph writes it (`nodes[].data.type`), or a trigger's
    # module type (`trigger-schedule`; see TRIGGER_MODULE_TYPES).
    type: str
    title: str
    category: Category
    description: str
    # Draft 2020-12, as pydantic generates it in validation mode (what input it accepts).
    config_schema: dict[str, Any]
    outputs: list[OutputVariable]
    handles: HandleSpec


class ModuleList(_Camel):
    total: int
    modules: list[Module]


@dataclass(frozen=True)
class _Entry:
    """What the models do not say about a module."""

    title: str
    category: Category
    description: str
    outputs: tuple[OutputVariable, ...] = ()
    # Branching types only: the handles always there, and the rule for the others.
    branch_handles: tuple[str, ...] = ()
    dynamic_handles: str | None = None


def _out(
    name: str,
    type_: VariableType,
    description: str = "",
    *,
    dynamic: bool = False,
    body_only: bool = False,
) -> OutputVariable:
    return OutputVariable(
        name=name, type=type_, description=description, dynamic=dynamic, body_only=body_only
    )


_V1 = "v1 form only"
_DIFY = "Dify form only"

# One entry per node type the canvas can draw, in palette order. Outputs are what each
# node's `run` (functions/nodes/<package>/node.py) returns.
_NODE_ENTRIES: dict[NodeType, _Entry] = {
    NodeType.START: _Entry(
        "Start",
        Category.START,
        "Starts the run: checks the trigger's data against its input form and outputs it.",
        (
            _out(
                "variables[].variable",
                "any",
                "each form field, typed by its input type",
                dynamic=True,
            ),
            _out(
                "headers[].name, params[].name, body[].name",
                "any",
                "a webhook start's declared fields, typed (a header's '-' as '_')",
                dynamic=True,
            ),
            _out(dify_triggers.RAW_OUTPUT, "object", "a webhook start's whole request"),
            _out("sys.workflow_id", "string"),
            _out("sys.workflow_run_id", "string"),
            _out("sys.timestamp", "string", "when the run was created, ISO 8601"),
        ),
    ),
    NodeType.LLM: _Entry(
        "LLM",
        Category.MODEL,
        "Asks a language model and outputs its reply.",
        (
            _out("text", "string", "the model's reply"),
            _out("usage", "object", "prompt, completion and total tokens"),
            _out("result", "string", f"the reply again ({_V1})"),
            _out("finish_reason", "string", _DIFY),
        ),
    ),
    NodeType.PARAMETER_EXTRACTOR: _Entry(
        "Parameter Extractor",
        Category.MODEL,
        "Has a language model fill in typed parameters from a text.",
        (
            _out("parameters[].name", "any", "each parameter, of its type", dynamic=True),
            _out("__is_success", "number", "1 when the reply was usable, else 0"),
            _out("__reason", "string", "why the reply was not usable; null when it was"),
            _out("__usage", "object", "prompt, completion and total tokens"),
        ),
    ),
    NodeType.QUESTION_CLASSIFIER: _Entry(
        "Question Classifier",
        Category.MODEL,
        "Has a language model put a text in one of its classes and follows that branch.",
        (
            _out("class_name", "string"),
            _out("class_id", "string", "also the handle taken"),
            _out("usage", "object", "prompt, completion and total tokens"),
        ),
        dynamic_handles="one per `classes[].id`",
    ),
    NodeType.IF_ELSE: _Entry(
        "IF/ELSE",
        Category.LOGIC,
        "Follows the branch of the first case whose conditions hold, else the ELSE branch.",
        (
            _out("result", "boolean", "whether a case held"),
            _out("selected_case_id", "string", f"the handle taken ({_DIFY})"),
        ),
        branch_handles=(ELSE_HANDLE,),
        dynamic_handles=(
            "one per `cases[].case_id`; without `cases` (a v1 `expression` or Dify's "
            'legacy `conditions`) the one handle "true"'
        ),
    ),
    NodeType.CODE: _Entry(
        "Code",
        Category.TRANSFORM,
        "Runs a Python function over its input variables in a sandbox.",
        (
            _out(
                "outputs.*",
                "any",
                "each declared output, checked against `outputs.<name>.type`; with no "
                "`outputs`, every key `main` returns",
                dynamic=True,
            ),
        ),
    ),
    NodeType.TEMPLATE_TRANSFORM: _Entry(
        "Template",
        Category.TRANSFORM,
        "Renders a Jinja2 template over its input variables.",
        (_out("output", "string", "the rendered text"),),
    ),
    NodeType.VARIABLE_AGGREGATOR: _Entry(
        "Variable Aggregator",
        Category.TRANSFORM,
        "Outputs the first of several variables that has a value (the branch that ran).",
        (
            _out("output", "any", "without groups"),
            _out(
                "advanced_settings.groups[].group_name",
                "object",
                "with groups enabled: per group, {output}",
                dynamic=True,
            ),
        ),
    ),
    NodeType.ASSIGNER: _Entry(
        "Variable Assigner",
        Category.TRANSFORM,
        "Computes new values for variables; a loop applies those of its own variables.",
        (_out("updates", "array[object]", "per target, {selector, value}"),),
    ),
    NodeType.LIST_OPERATOR: _Entry(
        "List Operator",
        Category.TRANSFORM,
        "Filters, picks, orders and limits the elements of an array.",
        (
            _out("result", "array[any]"),
            _out("first_record", "any", "null when the result is empty"),
            _out("last_record", "any", "null when the result is empty"),
        ),
    ),
    NodeType.HTTP_REQUEST: _Entry(
        "HTTP Request",
        Category.TOOL,
        "Sends an HTTP request and outputs the response, whatever its status.",
        (
            _out("status_code", "number"),
            _out("headers", "object"),
            _out("body", "string", "the response body as text"),
            _out("result", "any", f"the body parsed when it is JSON, else the text ({_V1})"),
            _out("files", "array[file]", f"always empty: responses are read as text ({_DIFY})"),
        ),
    ),
    NodeType.TOOL: _Entry(
        "Tool",
        Category.TOOL,
        "Calls a built-in tool or a tool Lambda function with its parameters.",
        (
            _out("result", "any", "the tool's value as it returned it"),
            _out("text", "string", f"the value as text ({_DIFY})"),
            _out("files", "array[file]", f"always empty ({_DIFY})"),
            _out("json", "array[object]", f"the value when it is an object ({_DIFY})"),
        ),
    ),
    NodeType.EMAIL_SEND: _Entry(
        "Send Email",
        Category.TOOL,
        "Sends an email through Amazon SES from the deployment's sender address.",
        (
            _out("message_id", "string", "SES's id of the message"),
            _out("result", "object", "{messageId}"),
        ),
    ),
    NodeType.ITERATION: _Entry(
        "Iteration",
        Category.CONTAINER,
        "Runs its body once per element of an array and collects one output per element.",
        (
            _out("output", "array[any]", "the collected outputs, in input order"),
            _out("result", "array[any]", "the same as output"),
            _out("item", "any", "the element of the current round", body_only=True),
            _out("index", "number", "the current element's index, from 0", body_only=True),
        ),
    ),
    NodeType.ITERATION_START: _Entry(
        "Iteration Start",
        Category.CONTAINER,
        "Marks where an iteration's body starts; it runs nothing.",
    ),
    NodeType.LOOP: _Entry(
        "Loop",
        Category.CONTAINER,
        "Runs its body until its break conditions hold or it has run `loop_count` rounds.",
        (
            _out(
                "loop_variables[].label",
                "any",
                "each loop variable, of its `var_type`; the body reads and assigns them too",
                dynamic=True,
            ),
            _out("loop_round", "number", "rounds run; absent when the body never ran"),
        ),
    ),
    NodeType.LOOP_START: _Entry(
        "Loop Start",
        Category.CONTAINER,
        "Marks where a loop's body starts; it runs nothing.",
    ),
    NodeType.ANSWER: _Entry(
        "Answer",
        Category.OUTPUT,
        "Renders a text from variables as the run's answer.",
        (_out("answer", "string"),),
    ),
    NodeType.END: _Entry(
        "End",
        Category.OUTPUT,
        "Ends the run and names its outputs.",
        (_out("outputs[].variable", "any", "each output, as its selector gives it", dynamic=True),),
    ),
}

# The module type of each trigger; Dify's own names where it has the trigger.
TRIGGER_MODULE_TYPES: dict[TriggerType, str] = {
    TriggerType.MANUAL: "trigger-manual",
    TriggerType.CRON: dify_triggers.SCHEDULE,
    TriggerType.EVENT: "trigger-event",
    TriggerType.S3: "trigger-s3",
    TriggerType.WEBHOOK: dify_triggers.WEBHOOK,
}

# What a run started by each trigger sees as `trigger.data`
# (functions/core/services/triggers.py).
_TRIGGER_ENTRIES: dict[TriggerType, _Entry] = {
    TriggerType.MANUAL: _Entry(
        "Manual",
        Category.TRIGGER,
        "Runs the workflow when an API call starts it.",
        (_out("data", "any", "the JSON the caller starts the run with"),),
    ),
    TriggerType.CRON: _Entry(
        "Schedule",
        Category.TRIGGER,
        "Runs the workflow on a cron schedule in a time zone.",
        (
            _out("data.scheduledTime", "string", "the time the run was due, ISO 8601"),
            _out("data.schedule", "string", "the cron expression"),
            _out("data.timezone", "string"),
        ),
    ),
    TriggerType.EVENT: _Entry(
        "Event",
        Category.TRIGGER,
        "Runs the workflow for each event of a type (and filter) sent to the tenant.",
        (
            _out("data.eventId", "string"),
            _out("data.type", "string", "the event's type"),
            _out("data.time", "string", "when the event happened, ISO 8601"),
            _out("data.data", "any", "the event's own data"),
        ),
    ),
    TriggerType.S3: _Entry(
        "S3 Object",
        Category.TRIGGER,
        "Runs the workflow for each object uploaded under a prefix (and with a suffix).",
        (
            _out("data.bucket", "string"),
            _out("data.key", "string"),
            _out("data.size", "number", "bytes"),
            _out("data.etag", "string"),
            _out("data.contentType", "string"),
        ),
    ),
    TriggerType.WEBHOOK: _Entry(
        "Webhook",
        Category.TRIGGER,
        "Runs the workflow for each signed HTTP request to its URL.",
        (
            _out("data.method", "string"),
            _out("data.headers", "object", "names lower-cased"),
            _out("data.query", "object"),
            _out("data.body", "any", "JSON parsed, a form as an object, else {raw}"),
        ),
    ),
}


def modules() -> list[Module]:
    """Every module, node types first in palette order, then the triggers."""
    return [*map(_node_module, _NODE_ENTRIES), *map(_trigger_module, _TRIGGER_ENTRIES)]


@cache
def module_list() -> dict[str, Any]:
    """The answer of `POST /workflow/module/list`, ready to send as JSON; generated once
    per process (~40 ms): the catalogue changes only with a deploy."""
    found = modules()
    return ModuleList(total=len(found), modules=found).model_dump(mode="json", by_alias=True)


def _node_module(node_type: NodeType) -> Module:
    entry = _NODE_ENTRIES[node_type]
    # A body-start marker has no task and its config is never read: any object will do.
    config = NodeConfig if node_type in BODY_START_TYPES else NODES[node_type].config
    if node_type in BRANCHING_TYPES:
        handles = HandleSpec(
            branches=True,
            handles=list(entry.branch_handles),
            dynamic_handles=entry.dynamic_handles,
            # Validation refuses a handle its config does not name, "fail-branch" too.
            fail_branch=False,
        )
    else:
        # Containers compile to several states with no Catch, so their strategy is
        # never applied; markers run nothing that could fail.
        no_task = CONTAINER_TYPES | BODY_START_TYPES
        handles = HandleSpec(
            branches=False, handles=[SOURCE_HANDLE], fail_branch=node_type not in no_task
        )
    return Module(
        type=node_type.value,
        title=entry.title,
        category=entry.category,
        description=entry.description,
        config_schema=config.model_json_schema(mode="validation"),
        outputs=list(entry.outputs),
        handles=handles,
    )


def _trigger_module(kind: TriggerType) -> Module:
    entry = _TRIGGER_ENTRIES[kind]
    triggered_by = _out("type", "string", f'"{TRIGGERED_BY[kind]}", what started the run')
    return Module(
        type=TRIGGER_MODULE_TYPES[kind],
        title=entry.title,
        category=entry.category,
        description=entry.description,
        config_schema=_trigger_schema(kind),
        outputs=[triggered_by, *entry.outputs],
        # On the canvas a trigger is where the graph starts: one edge on to the first node.
        handles=HandleSpec(branches=False, handles=[SOURCE_HANDLE], fail_branch=False),
    )


def _trigger_schema(kind: TriggerType) -> dict[str, Any]:
    """`Trigger`'s schema cut to the fields of one type; `type` is left out because the
    module's type implies it: the saved trigger is `{"type": kind, **config}`.

    `FIELDS_OF` is private to trigger.py, but it is the one list of what each type keeps
    (`Trigger.stored`); a copy here could drift from it.
    """
    schema = Trigger.model_json_schema(mode="validation")
    fields = FIELDS_OF[kind]
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k in fields}
    if "required" in schema:
        schema["required"] = [k for k in schema["required"] if k in fields]
    # Only the definitions the kept fields use: a schedule's form has no webhook parts.
    defs: dict[str, Any] = schema.pop("$defs", {})
    used = _referenced(schema, defs)
    if used:
        schema["$defs"] = {name: defs[name] for name in sorted(used)}
    return schema


def _referenced(fragment: Any, defs: dict[str, Any], found: set[str] | None = None) -> set[str]:
    """The names of `defs` that `fragment` refers to (`#/$defs/<name>`), transitively."""
    found = set() if found is None else found
    if isinstance(fragment, dict):
        for key, value in fragment.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_DEFS):
                name = value.removeprefix(_DEFS)
                if name in defs and name not in found:
                    found.add(name)
                    _referenced(defs[name], defs, found)
            else:
                _referenced(value, defs, found)
    elif isinstance(fragment, list):
        for item in fragment:
            _referenced(item, defs, found)
    return found
