"""The emulator refuses what AWS refuses (issue 10): models whose image, artifacts or package are in
another region; DeploymentConfig values outside SageMaker's limits; updates of a busy endpoint. And
DescribeEndpoint reports LastDeploymentConfig."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.emulator import advance

from .conftest import ACCOUNT, REGION, make_endpoint_configs

ROLE = f"arn:aws:iam::{ACCOUNT}:role/exec"


def canary(value: int, kind: str = "CAPACITY_PERCENT", **policy: Any) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": kind, "Value": value},
                "WaitIntervalInSeconds": 300,
            },
            "TerminationWaitInSeconds": 600,
            "MaximumExecutionTimeoutInSeconds": 3600,
            **policy,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a"}]},
    }


def linear(value: int) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "LINEAR",
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": value},
                "WaitIntervalInSeconds": 60,
            },
            "TerminationWaitInSeconds": 60,
            "MaximumExecutionTimeoutInSeconds": 3600,
        }
    }


@pytest.fixture
def live(sm: Any) -> Any:
    make_endpoint_configs(sm, "cfg-1", "cfg-2")  # two instances each
    sm.create_endpoint(EndpointName="e", EndpointConfigName="cfg-1")
    advance()
    return sm


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (canary(75), "at most 50% of the new fleet"),
        (canary(2, "INSTANCE_COUNT"), "at most 50% of the new fleet"),
        (linear(60), "10-50%"),
        (linear(5), "10-50%"),
        (canary(25, TerminationWaitInSeconds=3601), "TerminationWaitInSeconds"),
        (canary(25, MaximumExecutionTimeoutInSeconds=900), "larger than WaitIntervalInSeconds"),
    ],
)
def test_update_refuses_a_deployment_config_outside_sagemakers_limits(  # botocore checks the min/max it knows
    live: Any, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ClientError, match=message) as err:
        live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=config)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert live.describe_endpoint(EndpointName="e")["EndpointStatus"] == "InService"  # nothing started


def test_a_canary_of_half_the_fleet_is_accepted_and_reported_as_last_deployment_config(live: Any) -> None:
    config = canary(50)
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=config)
    described = live.describe_endpoint(EndpointName="e")
    assert described["EndpointStatus"] == "Updating"
    assert described["LastDeploymentConfig"] == config
    advance()
    assert live.describe_endpoint(EndpointName="e")["LastDeploymentConfig"] == config


def test_update_of_a_busy_endpoint_is_refused(live: Any) -> None:
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=canary(50))
    with pytest.raises(ClientError, match="Cannot update in-progress endpoint"):
        live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-1", DeploymentConfig=canary(50))


def test_create_model_refuses_an_image_of_another_region(sm: Any) -> None:
    with pytest.raises(ClientError, match="must be in the model's region eu-west-1") as err:
        sm.create_model(
            ModelName="m",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/img:1"},
        )
    assert err.value.response["Error"]["Code"] == "ValidationException"
    sm.create_model(
        ModelName="m",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/img:1"},
    )


def test_create_model_refuses_artifacts_in_a_bucket_of_another_region(sm: Any) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="artifacts-virginia")
    with pytest.raises(ClientError, match="are in us-east-1; they must be in the model's region"):
        sm.create_model(
            ModelName="m",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/img:1",
                "ModelDataUrl": "s3://artifacts-virginia/model.tar.gz",
            },
        )


def _package(region: str, image_region: str) -> str:
    registry = boto3.client("sagemaker", region_name=region)
    registry.create_model_package_group(ModelPackageGroupName="g")
    return str(
        registry.create_model_package(
            ModelPackageGroupName="g",
            InferenceSpecification={
                "Containers": [{"Image": f"{ACCOUNT}.dkr.ecr.{image_region}.amazonaws.com/img:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
    )


def test_create_model_refuses_a_package_of_another_region(sm: Any) -> None:
    arn = _package("us-east-1", "us-east-1")
    with pytest.raises(ClientError, match="a model can use only a package of its own region eu-west-1"):
        sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, Containers=[{"ModelPackageName": arn}])


def test_create_model_refuses_a_package_whose_image_is_in_another_region(sm: Any) -> None:
    arn = _package(REGION, "us-east-1")
    with pytest.raises(ClientError, match="image .* is in us-east-1"):
        sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, Containers=[{"ModelPackageName": arn}])
    good = _package_in_same_region_after_group_exists()
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, Containers=[{"ModelPackageName": good}])


def _package_in_same_region_after_group_exists() -> str:
    registry = boto3.client("sagemaker", region_name=REGION)
    return str(
        registry.create_model_package(
            ModelPackageGroupName="g",
            InferenceSpecification={
                "Containers": [{"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/img:1"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
    )
