"""Create the first admin API key of a deployed Stepcanvas, straight in its table.

Every key is made through the API by a key with the admin scope, so the first one cannot
be; this writes it with the same code the api function uses (functions/core/services/
keys.py: only the SHA-256 is stored), using real boto3 and the AWS credentials and region
of the environment (profile, SSO, AWS_* variables), as the AWS CLI does:

    TABLE=$(aws cloudformation describe-stacks --stack-name Stepcanvas \\
        --query "Stacks[0].Outputs[?OutputKey=='TableName'].OutputValue" --output text)
    python -m tools.bootstrap_key --table "$TABLE"

The key goes to stdout alone (KEY=$(python -m tools.bootstrap_key …) keeps it), the rest to
stderr. It cannot be shown again. A tenant that already has keys gets no new one unless
--force is given. The caller needs dynamodb:PutItem and dynamodb:Query (its indexes) on
the table.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from functions.core import aws_clients
from functions.core.services import keys
from functions.core.services.keys import Scope
from functions.core.settings import get_settings

DEFAULT_TENANT = "default"
DEFAULT_NAME = "bootstrap admin"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # boto3 reads AWS_DEFAULT_REGION and the profile's region, not AWS_REGION.
    region = args.region or os.environ.get("AWS_REGION") or boto3.session.Session().region_name
    if not region:
        parser.error("no AWS region: pass --region, or set AWS_REGION or a profile region")
    # functions.core finds its table and region in the settings, read from the environment.
    os.environ["AWS_REGION"] = region
    os.environ["TABLE_NAME"] = args.table
    get_settings.cache_clear()
    aws_clients.reset()
    try:
        existing = keys.list_all(args.tenant)
        if existing and not args.force:
            print(
                f"tenant '{args.tenant}' already has {len(existing)} key(s) in {args.table}; "
                "make more through the API (POST /v1/keys), or pass --force",
                file=sys.stderr,
            )
            return 1
        plaintext, record = keys.create(args.tenant, args.name, {Scope.ADMIN})
    except (BotoCoreError, ClientError) as exc:
        # No credentials, a wrong table or region, or no permission on the table.
        print(f"could not write the key to {args.table} in {region}: {exc}", file=sys.stderr)
        return 1
    print(
        f"Created admin key {record['keyId']} ({record['prefix']}…) for tenant "
        f"'{record['tenantId']}' in {args.table} ({region}). It is shown once, below; "
        "send it as X-API-Key or Authorization: Bearer.",
        file=sys.stderr,
    )
    print(plaintext)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bootstrap_key",
        description="Create the first admin API key in a deployed Stepcanvas table.",
    )
    parser.add_argument("--table", required=True, help="the stack's TableName output")
    parser.add_argument("--region", help="the stack's region (default: the environment's)")
    parser.add_argument("--tenant", default=DEFAULT_TENANT, help="tenant id (default: %(default)s)")
    parser.add_argument("--name", default=DEFAULT_NAME, help="key name (default: %(default)s)")
    parser.add_argument(
        "--force", action="store_true", help="create a key even if the tenant already has some"
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
