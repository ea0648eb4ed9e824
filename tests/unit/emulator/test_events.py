"""EventBridge delivery fixes (local.emulator.events)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local.emulator.events import emit

from .conftest import ACCOUNT, REGION, Capture

SERVING = "333333333333"


def _client(service: str, account: str) -> Any:
    client = boto3.client(service, region_name=REGION)
    client.meta.events.register(
        f"before-sign.{client.meta.service_model.endpoint_prefix}.*",
        lambda request, **_: request.headers.add_header("x-moto-account-id", account),
    )
    return client


@pytest.mark.usefixtures("aws")
def test_sqs_target_gets_account_and_all_envelope_fields() -> None:
    capture = Capture({"source": ["my.app"]})
    boto3.client("events", region_name=REGION).put_events(
        Entries=[{"Source": "my.app", "DetailType": "Thing", "Detail": '{"a": 1}', "Resources": ["r1"]}]
    )
    (event,) = capture.drain()
    assert set(event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert event["account"] == ACCOUNT
    assert event["resources"] == ["r1"]


def _forwarding_rule(bus_policy: dict[str, Any] | None) -> Any:
    """A serving-account rule forwarding endpoint events to the registry account's default bus."""
    registry_events = boto3.client("events", region_name=REGION)
    if bus_policy is not None:
        registry_events.put_permission(Policy=json.dumps(bus_policy))
    capture = Capture({"source": ["aws.sagemaker"]})
    serving = _client("events", SERVING)
    serving.put_rule(Name="forward", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    serving.put_targets(
        Rule="forward",
        Targets=[{"Id": "registry", "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"}],
    )
    return capture


def _admit(account: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "serving",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "events:PutEvents",
                "Resource": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
            }
        ],
    }


@pytest.mark.usefixtures("aws")
def test_cross_account_forwarding_keeps_the_original_event() -> None:
    capture = _forwarding_rule(_admit(SERVING))
    arn = f"arn:aws:sagemaker:{REGION}:{SERVING}:endpoint/e"
    emit(SERVING, REGION, "SageMaker Endpoint State Change", {"EndpointName": "e"}, [arn])
    (event,) = capture.drain()
    assert event["account"] == SERVING
    assert event["resources"] == [arn]
    assert event["detail"] == {"EndpointName": "e"}


@pytest.mark.usefixtures("aws")
def test_cross_account_forwarding_needs_the_bus_policy() -> None:
    capture = _forwarding_rule(_admit("999999999999"))
    emit(SERVING, REGION, "SageMaker Endpoint State Change", {"EndpointName": "e"}, [])
    assert capture.drain() == []


@pytest.mark.usefixtures("aws")
def test_forwarding_without_any_bus_policy_is_dropped() -> None:
    capture = _forwarding_rule(None)
    emit(SERVING, REGION, "SageMaker Endpoint State Change", {"EndpointName": "e"}, [])
    assert capture.drain() == []
