"""The emulator as a server: in-process (EmulatorServer) and as ``python -m local.emulator``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.base_backend import BackendDict

from local.emulator.server import Credentials, EmulatorServer, create_account_admins, enable_auth

REGISTRY, SERVING = "111111111111", "333333333333"
REGION = "eu-west-1"
ROOT = Path(__file__).parents[3]


def _client(service: str, url: str, creds: Credentials) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
    )


def _wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, dict[str, Credentials]]]:
    BackendDict.reset()
    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    with EmulatorServer(port=0, creating_seconds=0.2, updating_seconds=0.3, rolling_back_seconds=0.2) as emu:
        creds = create_account_admins(emu.url, [REGISTRY, SERVING], REGION)
        enable_auth(emu.url)
        try:
            yield emu.url, creds
        finally:
            settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved
    BackendDict.reset()


def test_each_account_has_its_own_admin_credentials(server: tuple[str, dict[str, Credentials]]) -> None:
    url, creds = server
    for account in (REGISTRY, SERVING):
        identity = _client("sts", url, creds[account]).get_caller_identity()
        assert identity["Account"] == account
        assert identity["Arn"] == f"arn:aws:iam::{account}:user/emulator-admin"
    with pytest.raises(ClientError):
        _client("sagemaker", url, Credentials("AKIAUNKNOWN000000000", "x")).list_endpoints()


def test_endpoint_lifecycle_and_events_over_http(server: tuple[str, dict[str, Credentials]]) -> None:
    url, creds = server
    sm = _client("sagemaker", url, creds[SERVING])
    sqs = _client("sqs", url, creds[SERVING])
    events = _client("events", url, creds[SERVING])
    queue = sqs.create_queue(QueueName="capture")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="capture", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    events.put_targets(Rule="capture", Targets=[{"Id": "q", "Arn": queue_arn}])
    sm.create_model(
        ModelName="m", ExecutionRoleArn=f"arn:aws:iam::{SERVING}:role/x", PrimaryContainer={"Image": "i"}
    )
    for name in ("c1", "c2"):
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "v",
                    "ModelName": "m",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    sm.create_endpoint(EndpointName="e", EndpointConfigName="c1")
    _wait_for(lambda: sm.describe_endpoint(EndpointName="e")["EndpointStatus"] == "InService")
    sm.update_endpoint(EndpointName="e", EndpointConfigName="c2")  # Updating: seen in the events below
    _wait_for(lambda: sm.describe_endpoint(EndpointName="e")["EndpointConfigName"] == "c2")

    received: list[dict[str, Any]] = []

    def collect() -> bool:
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            received.append(json.loads(m["Body"]))
        return len(received) >= 4

    _wait_for(collect)
    assert [e["detail"]["EndpointStatus"] for e in received] == [
        "CREATING",
        "IN_SERVICE",
        "UPDATING",
        "IN_SERVICE",
    ]
    assert {e["account"] for e in received} == {SERVING}


def test_transitions_happen_without_anyone_polling(server: tuple[str, dict[str, Credentials]]) -> None:
    """The ticker applies due transitions (and emits their events) in the background."""
    url, creds = server
    sm = _client("sagemaker", url, creds[REGISTRY])
    sm.create_model(
        ModelName="m", ExecutionRoleArn=f"arn:aws:iam::{REGISTRY}:role/x", PrimaryContainer={"Image": "i"}
    )
    sm.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
        ],
    )
    sm.create_endpoint(EndpointName="quiet", EndpointConfigName="c")
    time.sleep(0.6)
    from local.emulator import pending_count

    assert pending_count() == 0


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    creds_file = tmp_path / "creds.json"
    env = {k: v for k, v in os.environ.items() if k not in ("MOTO_ACCOUNT_ID", "AWS_ENDPOINT_URL")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.emulator",
            "--port",
            "0",
            "--accounts",
            REGISTRY,
            "--region",
            REGION,
            "--credentials-file",
            str(creds_file),
            "--updating-seconds",
            "0.2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("ready http://localhost:"), line
        url = line.split()[1]
        doc = json.loads(creds_file.read_text())
        assert doc["endpoint_url"] == url
        c = doc["accounts"][REGISTRY]
        creds = Credentials(c["access_key_id"], c["secret_access_key"])
        sm = _client("sagemaker", url, creds)
        sm.create_model_package_group(ModelPackageGroupName="g")
        sm.put_model_package_group_policy(
            ModelPackageGroupName="g",
            ResourcePolicy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": SERVING},
                            "Action": "sagemaker:DescribeModelPackageGroup",
                            "Resource": "*",
                        }
                    ],
                }
            ),
        )
        assert "Statement" in sm.get_model_package_group_policy(ModelPackageGroupName="g")["ResourcePolicy"]
        with pytest.raises(ClientError):  # auth is on: unknown keys are refused
            _client("sagemaker", url, Credentials("AKIAUNKNOWN000000000", "x")).list_endpoints()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
