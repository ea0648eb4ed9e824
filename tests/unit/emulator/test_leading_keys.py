"""`dynamodb:LeadingKeys`: a role limited to its own partition keys is limited on the emulator too
(local.emulator.service_iam; AWS: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.base_backend import BackendDict

from .conftest import ACCOUNT, REGION

TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/ledger"
MINE = ["111111111111/eu-west-1/mine", "111111111111/eu-west-1/also-mine"]


@pytest.fixture(scope="module")
def reader(_mocked: None) -> Iterator[Any]:
    BackendDict.reset()
    iam = boto3.client("iam", region_name=REGION)
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(
        TableName="ledger",
        KeySchema=[
            {"AttributeName": "endpoint_id", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "endpoint_id", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for eid in (*MINE, "999999999999/eu-west-1/theirs"):
        ddb.put_item(TableName="ledger", Item={"endpoint_id": {"S": eid}, "at": {"S": "2026-01-01"}})
    iam.create_user(UserName="reader")
    iam.put_user_policy(
        UserName="reader",
        PolicyName="p",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["dynamodb:Query", "dynamodb:PutItem"],
                        "Resource": TABLE,
                        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": MINE}},
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        yield boto3.client(
            "dynamodb",
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


def _query(ddb: Any, eid: str, **extra: Any) -> Any:
    return ddb.query(
        TableName="ledger",
        KeyConditionExpression="#e = :e AND #at <= :t",
        ExpressionAttributeNames={"#e": "endpoint_id", "#at": "at"},
        ExpressionAttributeValues={":e": {"S": eid}, ":t": {"S": "2027"}},
        **extra,
    )


def test_query_of_an_own_partition_is_allowed(reader: Any) -> None:
    assert _query(reader, MINE[0])["Count"] == 1
    plain = reader.query(
        TableName="ledger",
        KeyConditionExpression="endpoint_id = :e",
        ExpressionAttributeValues={":e": {"S": MINE[1]}},
    )
    assert plain["Count"] == 1


def test_query_of_another_partition_is_denied(reader: Any) -> None:
    with pytest.raises(ClientError) as err:
        _query(reader, "999999999999/eu-west-1/theirs")
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "dynamodb:Query" in err.value.response["Error"]["Message"]


def test_put_item_only_into_own_partitions(reader: Any) -> None:
    reader.put_item(TableName="ledger", Item={"endpoint_id": {"S": MINE[0]}, "at": {"S": "2026-02-01"}})
    with pytest.raises(ClientError) as err:
        reader.put_item(
            TableName="ledger", Item={"endpoint_id": {"S": "999999999999/eu-west-1/theirs"}, "at": {"S": "x"}}
        )
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
