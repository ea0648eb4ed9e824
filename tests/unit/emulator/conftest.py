from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.base_backend import BackendDict
from moto.core.models import reset_model_data

from local.emulator import install, reset_clock

REGION = "eu-west-1"
ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture(scope="module")
def _mocked() -> Iterator[None]:
    """One mock_aws per module (entering it costs ~0.3 s); tests reset the backends instead."""
    install()
    with mock_aws():
        yield


@pytest.fixture
def aws(_mocked: None) -> Iterator[None]:
    BackendDict.reset()
    reset_model_data()
    reset_clock()
    yield
    reset_clock()


@pytest.fixture
def sm(aws: None) -> Any:
    return boto3.client("sagemaker", region_name=REGION)


def make_endpoint_configs(sm: Any, *names: str, model: str = "m") -> None:
    sm.create_model(
        ModelName=model,
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/exec",
        PrimaryContainer={"Image": "123.dkr.ecr.eu-west-1.amazonaws.com/img:1"},
    )
    for name in names:
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": model,
                    "InitialInstanceCount": 2,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )


class Capture:
    """An EventBridge rule on the default bus -> SQS queue, to read what was delivered."""

    def __init__(self, pattern: dict[str, Any], region: str = REGION, **client_kwargs: Any) -> None:
        self.sqs = boto3.client("sqs", region_name=region, **client_kwargs)
        ev = boto3.client("events", region_name=region, **client_kwargs)
        name = "capture-" + str(abs(hash(json.dumps(pattern, sort_keys=True))))[:8]
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        ev.put_rule(Name=name, EventPattern=json.dumps(pattern))
        ev.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])

    def drain(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            msgs = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
