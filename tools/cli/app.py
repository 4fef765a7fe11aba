"""The `stepcanvas` commands.

What a script captures goes to standard output (an id, a key, a table, `--json`), what a
person reads besides to standard error. The exit code is 0 when the command did what it
was asked (for a run: the run succeeded), 1 when the server refused or the run failed, 2
for a usage error.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tools.cli import documents, live
from tools.cli.client import ApiError, Client, NoKey, Unreachable, resolve

app = typer.Typer(
    name="stepcanvas",
    help="Import, run and watch Stepcanvas workflows, and manage API keys, over HTTP.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Account API keys (admin): create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _console(stream: Any) -> Console:
    # Piped output is not cut to 80 columns: ids and tables stay whole.
    wide = None if stream.isatty() else int(os.environ.get("COLUMNS") or 200)
    # No markup: names, results and errors are shown as they are (`[local:local] …`).
    return Console(file=stream, width=wide, markup=False, highlight=False)


out = _console(sys.stdout)
err = _console(sys.stderr)


class State:
    def __init__(self, url: str | None, key: str | None) -> None:
        self.url, self.key = resolve(url, key)
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.url, self.key)
        return self._client


@app.callback()
def options(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            envvar="STEPCANVAS_URL",
            help="The deployment's base URL (default: the local system, http://127.0.0.1:8080)",
            show_default=False,
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            envvar="STEPCANVAS_KEY",
            help="An account API key (default: the local one saved in .stepcanvas/local.json)",
            show_default=False,
        ),
    ] = None,
) -> None:
    ctx.obj = State(url, key)


def _state(ctx: typer.Context) -> State:
    state: State = ctx.ensure_object(State)
    return state


def _print_json(value: Any) -> None:
    out.print_json(json.dumps(value, ensure_ascii=False))


def _refusal(error: ApiError) -> None:
    err.print(Text(f"refused: {error.status} {error.code}", style="bold red"))
    if error.problems:
        _problems(err, error.problems)
    else:
        err.print(Text(f"  {error.message}"), soft_wrap=True)


def _problems(console: Console, problems: list[dict[str, str]]) -> None:
    """One line per problem: `  • where: reason`."""
    for problem in problems:
        line = Text("  • ")
        if problem.get("where"):
            line.append(str(problem["where"]), style="bold")
            line.append(": ")
        line.append(str(problem.get("reason", "")))
        console.print(line, soft_wrap=True)


def _document(file: Path) -> documents.Document:
    try:
        return documents.read(file)
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{file}: cannot be read as UTF-8 text ({exc})") from exc


def _short(value: Any, limit: int = 80) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status_text(status: str) -> Text:
    shown = live.V1_RUN_STATUS.get(status) or live.V1_STEP_STATUS.get(status) or status
    return Text(shown, style=live.STATUS_STYLE.get(shown, "yellow"))


# --- workflows ---------------------------------------------------------------------------


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A Dify DSL file or a v1 JSON")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the server's answer")] = False,
) -> None:
    """Save a workflow (a Dify DSL export, YAML or JSON, or a v1 document); print its id."""
    document = _document(file)
    client = _state(ctx).client
    if document.kind == "v1":
        saved = client.post("/v1/workflows", document.data)
    else:
        saved = client.post("/v1/workflows/import", {"yaml_content": document.text})
    if as_json:
        _print_json(saved)
    else:
        out.print(saved["id"])
    version = saved.get("version") or str(saved.get("versionId") or "").rpartition("-v")[2]
    err.print(f"imported {saved.get('name')!r} as {saved['id']} (version {version})")
    secret = ((saved.get("trigger") or {}).get("webhook") or {}).get("secret")
    if secret and not as_json:
        err.print(f"webhook secret (shown once): {secret}")


@app.command()
def validate(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A Dify DSL file or a v1 JSON")
    ],
) -> None:
    """List a workflow file's problems without saving it.

    Checked offline by this checkout's own importers and validation (the server has no
    route that validates without saving).
    """
    checked = documents.check(_document(file))
    if checked.problems:
        out.print(Text(f"{file}: {len(checked.problems)} problem(s)", style="bold red"))
        _problems(out, checked.problems)
        raise typer.Exit(1)
    out.print(f"{file}: valid ({checked.name!r}, {checked.nodes} nodes)")


def _run_data(data: str | None, inputs: list[str]) -> Any:
    if data is not None and inputs:
        raise typer.BadParameter("give --data or --input, not both")
    if data is not None:
        try:
            return json.loads(data)
        except ValueError as exc:
            raise typer.BadParameter(f"not JSON: {exc}", param_hint="--data") from exc
    values: dict[str, Any] = {}
    for item in inputs:
        name, is_json, value = _pair(item)
        if is_json:
            try:
                values[name] = json.loads(value)
            except ValueError as exc:
                raise typer.BadParameter(f"{item}: not JSON: {exc}", param_hint="--input") from exc
        else:
            values[name] = value
    return values


def _pair(item: str) -> tuple[str, bool, str]:
    """`name=text` (a string) or `name:=json`."""
    head, sep, tail = item.partition("=")
    if not sep or not head.rstrip(":"):
        raise typer.BadParameter(
            f"{item!r}: expected name=value or name:=json", param_hint="--input"
        )
    return (head[:-1], True, tail) if head.endswith(":") else (head, False, tail)


@app.command()
def run(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Argument(help="The workflow's id")],
    data: Annotated[
        str | None, typer.Option(help="The run's data (trigger data / start inputs), JSON")
    ] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="name=text or name:=json, repeatable"),
    ] = None,
    follow_run: Annotated[
        bool, typer.Option("--follow", "-f", help="Show the run live; exit 0 only on success")
    ] = False,
) -> None:
    """Start a run; print its id, or with --follow show it until it ends."""
    payload = _run_data(data, inputs or [])
    client = _state(ctx).client
    if not follow_run:
        started = client.post(f"/v1/workflows/{workflow}/run", {"data": payload})
        out.print(started["runId"])
        err.print(f"run {started['runId']} started; watch it: stepcanvas tail {started['runId']}")
        return
    if not isinstance(payload, dict):
        raise typer.BadParameter("--follow sends the data as start inputs: a JSON object")
    nodes = live.node_infos(client.get(f"/v1/workflows/{workflow}"))
    with live.RunView(out, nodes) as view:
        status = live.follow(client, view, workflow, payload)
    raise typer.Exit(0 if status in live.SUCCESS else 1)


@app.command()
def runs(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Argument(help="The workflow's id")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many, newest first")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print the server's answer")] = False,
) -> None:
    """A workflow's latest runs, newest first."""
    found = _state(ctx).client.get(f"/v1/workflows/{workflow}/runs", limit=limit)
    if as_json:
        _print_json(found)
        return
    table = Table("run", "status", "trigger", "version", "created", "took", "steps")
    for item in found["runs"]:
        took = live.between(item.get("createdAt"), item.get("completedAt"))
        table.add_row(
            item["id"],
            _status_text(str(item.get("status"))),
            str(item.get("triggeredBy") or ""),
            str(item.get("version") or ""),
            str(item.get("createdAt") or ""),
            f"{took:.2f}s" if took is not None else "",
            str(len(item.get("stepResults") or [])),
        )
    out.print(table)
    if not found["runs"]:
        err.print(f"workflow {workflow} has no runs")


def _find_run(client: Client, run_id: str, workflow: str | None) -> dict[str, Any]:
    """The run's v1 view: `GET /v1/runs/{runId}`, or with `workflow` the workflow's own run
    route (which also checks the run is that workflow's)."""
    if workflow is not None:
        found: dict[str, Any] = client.get(f"/v1/workflows/{workflow}/runs/{run_id}")
        return found
    by_id: dict[str, Any] = client.get(f"/v1/runs/{run_id}")
    return by_id


WorkflowOption = Annotated[
    str | None,
    typer.Option("--workflow", "-w", help="Check that the run is this workflow's"),
]


@app.command()
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="The run's id")],
    workflow: WorkflowOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the server's answer")] = False,
) -> None:
    """A run and its step results."""
    found = _find_run(_state(ctx).client, run_id, workflow)
    if as_json:
        _print_json(found)
        return
    took = live.between(found.get("createdAt"), found.get("completedAt"))
    header = Table.grid(padding=(0, 2))
    header.add_row("run", found["id"])
    header.add_row("workflow", f"{found.get('workflowId')} (version {found.get('version')})")
    header.add_row("status", _status_text(str(found.get("status"))))
    header.add_row("triggered by", str(found.get("triggeredBy") or ""))
    header.add_row("created", str(found.get("createdAt") or ""))
    if found.get("completedAt"):
        header.add_row("completed", f"{found['completedAt']} ({took:.2f}s)" if took else "")
    if found.get("error"):
        header.add_row("error", Text(str(found["error"]), style="red"))
    used = _used(found.get("usage") or {})
    if used:
        header.add_row("used", used)
    out.print(header)
    steps = Table("#", "node", "status", "started", "took", "result / error")
    for index, step in enumerate(found.get("stepResults") or [], start=1):
        spent = live.between(step.get("startedAt"), step.get("completedAt"))
        error = step.get("error")
        shown = Text(str(error), style="red") if error else _short(step.get("result"))
        steps.add_row(
            str(index),
            str(step.get("nodeId")),
            _status_text(str(step.get("status"))),
            str(step.get("startedAt") or ""),
            f"{spent:.3f}s" if spent is not None else "",
            shown,
        )
    out.print(steps)


@app.command()
def tail(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="The run's id")],
    workflow: WorkflowOption = None,
) -> None:
    """A run's node events as they arrive, until it ends (exit 0 only on success)."""
    client = _state(ctx).client
    found = _find_run(client, run_id, workflow)
    nodes = live.node_infos(client.get(f"/v1/workflows/{found['workflowId']}"))
    with live.RunView(out, nodes) as view:
        status = live.tail(client, view, found)
    raise typer.Exit(0 if status in live.SUCCESS else 1)


def _used(usage: dict[str, Any]) -> str:
    """What a finished run used of what is billed (its detail's `usage`)."""
    parts = []
    if usage.get("transitions") is not None:
        parts.append(f"{usage['transitions']} state transitions")
    if usage.get("writes") is not None:
        parts.append(f"{usage['writes']} DynamoDB writes")
    if usage.get("total"):
        parts.append(f"{usage['total']} model tokens")
    return ", ".join(parts)


# --- cost --------------------------------------------------------------------------------

_USAGE_ROWS = (
    ("state transitions", "transitions", "{:g}"),
    ("Lambda requests", "lambdaRequests", "{:g}"),
    ("Lambda GB-seconds", "lambdaGbSeconds", "{:.3f}"),
    ("DynamoDB writes", "dynamodbWrites", "{:g}"),
    ("duration (s)", "seconds", "{:.2f}"),
)
_PRICE_ROWS = (
    ("Step Functions", "stepFunctions"),
    ("Lambda", "lambda"),
    ("DynamoDB", "dynamodb"),
    ("total", "total"),
)
_FIGURES = ("min", "typical", "max")


@app.command()
def cost(
    ctx: typer.Context,
    workflow: Annotated[str, typer.Argument(help="The workflow's id")],
    items: Annotated[
        int | None,
        typer.Option(min=0, help="Items per iteration (Map) and rounds per loop to assume"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the server's answer")] = False,
) -> None:
    """The estimated price per 1,000 runs, Standard and Express, and what one run uses."""
    params = {} if items is None else {"items": items}
    found = _state(ctx).client.get(f"/v1/workflows/{workflow}/cost", **params)
    if as_json:
        _print_json(found)
        return
    assumed = found["assumptions"]
    version = found.get("version")
    of = f"version {version}" if version is not None else "the draft (nothing published)"
    table = Table(
        "per run",
        *_FIGURES,
        title=f"workflow {found['workflowId']}, {of}, runs as {found['executionMode']}",
        title_justify="left",
    )
    for label, key, shown in _USAGE_ROWS:
        table.add_row(label, *(shown.format(found["perRun"][f][key]) for f in _FIGURES))
    table.add_section()
    for kind in ("standard", "express"):
        prices = found["per1000Runs"][kind]
        table.add_row(f"{kind.capitalize()}, USD per 1,000 runs", style="bold")
        for label, key in _PRICE_ROWS:
            cells = [f"${prices[f][key]:.4f}" for f in _FIGURES]
            table.add_row(f"  {label}", *cells, style="bold" if key == "total" else None)
        table.add_section()
    out.print(table)
    err.print(
        f"{assumed['region']} list prices of {assumed['pricesAsOf']}; "
        f"{assumed['items']} items per iteration and rounds per loop assumed (--items); "
        f"Lambda {assumed['lambdaArchitecture']}; "
        f"{assumed['fixedWritesPerRun']} fixed DynamoDB writes per run"
    )
    for note in assumed.get("notes") or []:
        err.print(f"  • {note}", soft_wrap=True)


# --- keys --------------------------------------------------------------------------------


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the key is for")],
    scopes: Annotated[
        list[str] | None, typer.Option("--scope", "-s", help="read, write or admin; repeatable")
    ] = None,
    new_tenant: Annotated[
        bool, typer.Option("--new-tenant", help="The first key of a new, isolated tenant")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the server's answer")] = False,
) -> None:
    """Make an account key; print it (it is shown once)."""
    body = {"name": name, "scopes": scopes or ["read"], "tenant": "new" if new_tenant else "own"}
    made = _state(ctx).client.post("/v1/keys", body)
    if as_json:
        _print_json(made)
        return
    out.print(made["key"])
    err.print(
        f"key {made['keyId']} {made['name']!r} ({', '.join(made.get('scopes') or [])}, "
        f"tenant {made.get('tenantId')}): shown once, keep it"
    )


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the server's answer")] = False,
) -> None:
    """The tenant's keys (account keys, and the app keys of its workflows)."""
    found = _state(ctx).client.get("/v1/keys")
    if as_json:
        _print_json(found)
        return
    table = Table("id", "name", "kind", "scopes", "prefix", "workflow", "created")
    for item in found["keys"]:
        table.add_row(
            item["keyId"],
            str(item.get("name") or ""),
            str(item.get("kind") or ""),
            ", ".join(item.get("scopes") or []),
            str(item.get("prefix") or ""),
            str(item.get("workflowId") or ""),
            str(item.get("createdAt") or ""),
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key's id (keys list)")],
) -> None:
    """Revoke an account key: it is refused from now on."""
    _state(ctx).client.delete(f"/v1/keys/{key_id}")
    out.print(f"revoked {key_id}")


def main() -> None:
    try:
        app(prog_name="stepcanvas")
    except ApiError as error:
        _refusal(error)
        sys.exit(1)
    except Unreachable as error:
        err.print(
            Text(f"cannot reach {error}", style="bold red"),
            Text("is `make run` going, or is --url / STEPCANVAS_URL right?"),
            sep="\n",
        )
        sys.exit(1)
    except NoKey:
        err.print(
            Text("no API key: pass --key or set STEPCANVAS_KEY", style="bold red"),
            Text("(make run prints the admin key: 'Admin API key (shown once): …')"),
            sep="\n",
        )
        sys.exit(2)
