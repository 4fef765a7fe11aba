"""No input answers 5xx, and every answer is what /openapi.json says (issue 10 item 2).

Schemathesis reads the document the real local server serves, generates requests for
every operation (its examples, coverage and fuzzing phases: valid and invalid bodies,
parameters and headers) and sends them over HTTP: the account face with an account key,
the service API with an app key. Each answer must be no server error, a documented status
code and content type, and a body that matches the documented schema. The run is bounded
(`FUZZ_EXAMPLES` per operation and phase) so that it sends over 1,000 requests in all and
the last test prints how many, and how many 5xx.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import Keys
from tests.local_server import Server

pytestmark = pytest.mark.xdist_group("fuzz")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
MINIMUM_REQUESTS = 1000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Every request sent, by face and status, for the figures the last test prints.
SENT: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="session")
def session() -> requests.Session:
    return requests.Session()


# The committed copy, readable at collection (before the server starts); the first test
# proves the server serves exactly it (and tests/unit/api/test_openapi.py that the routes
# generate it).
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
schema = schemathesis.openapi.from_path(str(COMMITTED))
# The service API's routes take an app key; every other route an account key (the
# webhooks none: they are signed instead, and a fuzzed one is refused with 401 or 404).
service = schema.include(tag="service")
account = schema.exclude(tag="service")


def _aimed(case: Any, workflow_id: str, keys: Keys) -> None:
    """Point half of the cases at a real workflow of the tenant's (and every case at its
    real app), so they reach past the ownership check; the others keep the ids the fuzzer
    made up (404)."""
    parameters = case.path_parameters or {}
    digest = hashlib.sha256(repr(sorted(parameters.items())).encode()).digest()
    if "app_id" in parameters:
        parameters["app_id"] = keys.tenant_id
    if "workflow_id" in parameters and digest[0] % 2 == 0:
        parameters["workflow_id"] = workflow_id


def _send(face: str, case: Any, key: str, keys: Keys, session: requests.Session) -> None:
    _aimed(case, keys.workflow_id if face == "service" else keys.target_id, keys)
    headers = {} if case.operation.path.startswith("/v1/hooks/") else {"X-API-Key": key}
    if face == "service":
        headers = {"Authorization": f"Bearer {key}"}
    response = case.call(base_url=keys.base_url, session=session, headers=headers, timeout=60)
    SENT[(face, response.status_code)] += 1
    case.validate_response(response, checks=CHECKS, headers=headers)


def test_the_server_serves_the_committed_document(server: Server) -> None:
    served = requests.get(f"{server.base_url}/openapi.json", timeout=30).json()
    assert served == json.loads(COMMITTED.read_text(encoding="utf-8"))


@account.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_account_face_answers_as_documented(
    case: Any, keys: Keys, session: requests.Session
) -> None:
    _send("account", case, keys.account, keys, session)


@service.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_service_api_answers_as_documented(
    case: Any, keys: Keys, session: requests.Session
) -> None:
    _send("service", case, keys.app, keys, session)


def test_the_run_was_large_enough_and_found_no_server_error() -> None:
    # Collected after the two above and run in the same process (make test runs this
    # module without xdist).
    total = sum(SENT.values())
    by_face = Counter[str]()
    for (face, _), count in SENT.items():
        by_face[face] += count
    server_errors = sum(count for (_, status), count in SENT.items() if status >= 500)
    print(
        f"\nschemathesis: {total} generated requests "
        f"(account face {by_face['account']}, app-key face {by_face['service']}), "
        f"{server_errors} answered 5xx"
    )
    assert server_errors == 0
    assert total >= MINIMUM_REQUESTS, f"only {total} requests: raise FUZZ_EXAMPLES"
