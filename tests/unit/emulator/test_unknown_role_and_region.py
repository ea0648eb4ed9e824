"""An unknown role or region gets AWS's documented error in the service's protocol, never an HTML 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin

from local.emulator.server import EmulatorServer, create_account_admins, enable_auth

CFG = botocore.config.Config(retries={"max_attempts": 1})


@pytest.fixture(scope="module")
def session() -> Iterator[tuple[Any, str]]:
    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    try:
        with EmulatorServer(port=0) as server:
            creds = create_account_admins(server.url, ["111111111111", "222222222222"], "eu-west-1")
            enable_auth(server.url)
            mine = creds["222222222222"]
            yield (
                boto3.Session(
                    aws_access_key_id=mine.access_key_id,
                    aws_secret_access_key=mine.secret_access_key,
                    region_name="eu-west-1",
                ),
                server.url,
            )
    finally:  # auth on is process-wide in moto: the next modules must not inherit it
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


def _error(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as err:
        call()
    response = err.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


@pytest.mark.parametrize("account", ["222222222222", "111111111111"])
def test_assuming_a_role_that_does_not_exist_is_access_denied(session, account: str) -> None:
    base, url = session
    arn = f"arn:aws:iam::{account}:role/mlops-nope-approver"
    sts = base.client("sts", endpoint_url=url, config=CFG)
    status, code, message = _error(lambda: sts.assume_role(RoleArn=arn, RoleSessionName="someone"))
    assert (status, code) == (403, "AccessDenied")
    assert message.endswith(f"is not authorized to perform: sts:AssumeRole on resource: {arn}")


@pytest.mark.parametrize(
    ("service", "call", "expected"),
    [
        ("sagemaker", lambda c: c.list_model_package_groups(), (400, "UnrecognizedClientException")),
        ("dynamodb", lambda c: c.list_tables(), (400, "UnrecognizedClientException")),
        ("lambda", lambda c: c.get_function(FunctionName="f"), (400, "UnrecognizedClientException")),
        ("ssm", lambda c: c.get_parameter(Name="p"), (400, "UnrecognizedClientException")),
        ("sts", lambda c: c.get_caller_identity(), (403, "InvalidClientTokenId")),
        ("sns", lambda c: c.list_topics(), (403, "InvalidClientTokenId")),
    ],
)
def test_an_unknown_region_is_answered_in_the_services_protocol(session, service, call, expected) -> None:
    base, url = session
    client = base.client(service, endpoint_url=url, region_name="eu-west-9", config=CFG)
    status, code, message = _error(lambda: call(client))
    assert (status, code) == expected
    assert "there is no AWS region 'eu-west-9'" in message


def test_a_real_region_other_than_the_registrys_still_works(session) -> None:
    base, url = session
    client = base.client("sagemaker", endpoint_url=url, region_name="eu-south-2", config=CFG)
    assert client.list_model_package_groups()["ModelPackageGroupSummaryList"] == []
    s3 = base.client("s3", endpoint_url=url, region_name="us-east-1", config=CFG)  # S3's own URL styles
    s3.create_bucket(Bucket="bucket-in-virginia")
    assert "bucket-in-virginia" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
