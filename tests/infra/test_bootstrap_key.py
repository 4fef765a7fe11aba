"""tools/bootstrap_key: the first admin key of a deployment, against a table (moto here)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from functions.core import aws_clients
from functions.core.data.schema import table_definition
from functions.core.services import keys
from functions.core.services.keys import KeyKind, Scope
from functions.core.settings import get_settings
from tools import bootstrap_key

REGION = "eu-west-1"
TABLE = "Stepcanvas-StorageTable-TEST"


@pytest.fixture
def deployed_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Whatever the tool sets in os.environ is put back with these.
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "TABLE_NAME": "not-this-one",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(**table_definition(TABLE))
        yield
    get_settings.cache_clear()
    aws_clients.reset()


def test_creates_an_admin_key_shown_once_and_stored_hashed(
    deployed_table: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bootstrap_key.main(["--table", TABLE]) == 0
    out, err = capsys.readouterr()
    plaintext = out.strip()
    assert plaintext.startswith(keys.KEY_PREFIX)
    assert plaintext not in err
    principal = keys.authenticate(plaintext)
    assert principal is not None
    assert (principal.tenant_id, principal.kind) == ("default", KeyKind.ACCOUNT)
    assert principal.allows(Scope.ADMIN)
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=TABLE)["Items"]
    assert plaintext not in str(items)


def test_refuses_a_second_key_for_the_tenant_unless_forced(
    deployed_table: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bootstrap_key.main(["--table", TABLE, "--tenant", "acme"]) == 0
    capsys.readouterr()
    assert bootstrap_key.main(["--table", TABLE, "--tenant", "acme"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "already has 1 key" in err
    assert bootstrap_key.main(["--table", TABLE, "--tenant", "acme", "--force"]) == 0
    assert len(keys.list_all("acme")) == 2


def test_a_missing_table_is_an_error_not_a_traceback(
    deployed_table: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bootstrap_key.main(["--table", "no-such-table", "--region", REGION]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "no-such-table" in err


@pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_takes_the_region_from_either_variable(
    deployed_table: None, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv(variable, REGION)
    assert bootstrap_key.main(["--table", TABLE]) == 0
    assert get_settings().region == REGION


def test_without_a_region_it_says_so(
    deployed_table: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(SystemExit):
        bootstrap_key.main(["--table", TABLE])
    assert "no AWS region" in capsys.readouterr().err
