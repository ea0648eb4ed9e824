"""InvokeEndpoint (sagemaker-runtime) answered by the fleet the rollout routes to (local.emulator.endpoints)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.emulator import advance, configure
from local.emulator.endpoints import answer

from .conftest import ACCOUNT, REGION

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/img:1"


def _version_config(sm: Any, version: int, instances: int = 4) -> str:
    sm.create_model(
        ModelName=f"m-{version}",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/exec",
        PrimaryContainer={
            "ModelPackageName": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/g/{version}"
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"cfg-{version}",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"m-{version}",
                "InitialInstanceCount": instances,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    return f"cfg-{version}"


@pytest.fixture
def world(sm: Any) -> tuple[Any, Any]:
    sm.create_model_package_group(ModelPackageGroupName="g")
    for _ in (1, 2):
        sm.create_model_package(
            ModelPackageGroupName="g",
            InferenceSpecification={
                "Containers": [{"Image": IMAGE}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )
    _version_config(sm, 1)
    _version_config(sm, 2)
    return sm, boto3.client("sagemaker-runtime", region_name=REGION)


def _invoke(runtime: Any, name: str = "e") -> dict[str, Any]:
    response = runtime.invoke_endpoint(EndpointName=name, Body=b"1,2,3", ContentType="text/csv")
    assert response["InvokedProductionVariant"] == "AllTraffic"
    return dict(json.loads(response["Body"].read()))


def _shares(runtime: Any, n: int) -> Counter[int]:
    """n requests through the runtime API (HTTP, signed): slow, so only for small n."""
    return Counter(_invoke(runtime)["version"] for _ in range(n))


def _routed(n: int) -> Counter[int]:
    """n requests routed in-process (the same code InvokeEndpoint runs, without HTTP)."""
    return Counter(answer(ACCOUNT, REGION, "e")["version"] for _ in range(n))


def test_missing_and_creating_endpoints_answer_like_aws(world: tuple[Any, Any]) -> None:
    sm, runtime = world
    with pytest.raises(ClientError) as err:
        _invoke(runtime, "nope")
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert err.value.response["Error"]["Message"] == f"Endpoint nope of account {ACCOUNT} not found."
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    sm.create_endpoint(EndpointName="e", EndpointConfigName="cfg-1")
    with pytest.raises(ClientError, match=f"Endpoint e of account {ACCOUNT} not found"):
        _invoke(runtime)
    advance()
    answer = _invoke(runtime)
    assert answer["model_package_arn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/g/1"
    assert answer["version"] == 1
    assert answer["endpoint_config_name"] == "cfg-1"
    sm.delete_endpoint(EndpointName="e")
    with pytest.raises(ClientError, match="not found"):
        _invoke(runtime)


def test_traffic_follows_a_canary_then_bakes_on_the_new_fleet(world: tuple[Any, Any]) -> None:
    sm, runtime = world
    sm.create_endpoint(EndpointName="e", EndpointConfigName="cfg-1")
    advance()
    sm.update_endpoint(
        EndpointName="e",
        EndpointConfigName="cfg-2",
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                    "WaitIntervalInSeconds": 300,
                },
                "TerminationWaitInSeconds": 600,
            }
        },
    )
    assert _shares(runtime, 50) == {1: 50}  # provisioning: the old fleet serves everything
    advance(1)
    assert set(_shares(runtime, 40)) == {1, 2}  # both fleets answer through the API
    # 25% canary, 2000 requests: sd = sqrt(.25*.75/2000) = 0.97 points; +/-3 points is 3.1 sd (p < 0.002)
    canary = _routed(2000)
    assert canary[1] + canary[2] == 2000
    assert abs(canary[2] / 2000 - 0.25) <= 0.03
    advance(300)
    assert _shares(runtime, 50) == {2: 50}  # baking: all on the new fleet
    advance(600)
    assert _shares(runtime, 50) == {2: 50}
    assert sm.describe_endpoint(EndpointName="e")["EndpointConfigName"] == "cfg-2"


def test_rollback_sends_all_traffic_back_to_the_old_fleet(world: tuple[Any, Any]) -> None:
    sm, runtime = world
    cw = boto3.client("cloudwatch", region_name=REGION)
    cw.put_metric_alarm(
        AlarmName="a",
        MetricName="Invocation5XXErrors",
        Namespace="AWS/SageMaker",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    sm.create_endpoint(EndpointName="e", EndpointConfigName="cfg-1")
    advance()
    sm.update_endpoint(
        EndpointName="e",
        EndpointConfigName="cfg-2",
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
                "TerminationWaitInSeconds": 300,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}]},
        },
    )
    advance(1)
    assert _shares(runtime, 30) == {2: 30}
    cw.set_alarm_state(AlarmName="a", StateValue="ALARM", StateReason="test")
    assert _shares(runtime, 30) == {1: 30}
    assert sm.describe_endpoint(EndpointName="e")["EndpointStatus"] == "RollingBack"
    advance()
    assert _shares(runtime, 30) == {1: 30}


def test_rolling_update_serves_both_versions_by_batch(world: tuple[Any, Any]) -> None:
    sm, runtime = world
    configure(updating_seconds=2)
    sm.create_endpoint(EndpointName="e", EndpointConfigName="cfg-1")
    advance()
    sm.update_endpoint(
        EndpointName="e",
        EndpointConfigName="cfg-2",
        DeploymentConfig={
            "RollingUpdatePolicy": {
                "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 2},
                "WaitIntervalInSeconds": 60,
            }
        },
    )
    advance(1)  # first batch of 2 (of 4) provisioned: half the traffic on the new fleet
    d = sm.describe_endpoint(EndpointName="e")
    variant = d["PendingDeploymentSummary"]["ProductionVariants"][0]
    assert variant["CurrentInstanceCount"] == 2
    assert (
        variant["VariantStatus"][0]["StatusMessage"]
        == "batch 1: 50% of traffic on the new fleet (2 new, 2 old instances)"
    )
    # 50% share, 2000 requests: sd = sqrt(.5*.5/2000) = 1.12 points; +/-4 points = 3.6 sd (p < 0.001)
    half = _routed(2000)
    assert abs(half[2] / 2000 - 0.5) <= 0.04
    advance(60 + 1)
    assert _shares(runtime, 30) == {2: 30}
    advance()
    assert sm.describe_endpoint(EndpointName="e")["EndpointStatus"] == "InService"
