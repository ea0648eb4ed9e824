"""The second day, on the emulator with every stack deployed by the CDK CLI and the deployer running as
its execution role (``mlops-deployer``): a config change reaches a live endpoint, an autoscaled variant's
count moves its autoscaling minimum, a retired endpoint (``on_remove: delete``) is deleted, and a
stage-following endpoint rolls back when its serving version is rejected.

Its own emulator (one deploy, about 30-60 s), deployed from config/example.yaml plus one retired
endpoint of the registry account. Two emulators cannot run in one process (moto's state is global): this
module sorts before test_demo_flow, which starts the session-wide one (as test_attacks does). A config change is what `cdk deploy` of the edited config does to the
deployer: new code with a new deployments.json, read by new sandboxes; here the runner's environment
gets the changed DEPLOYMENTS and a fresh sandbox (the IAM a size change needs is the same before and
after).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError
from moto.core.base_backend import BackendDict

from local.demo import Scenario
from local.emulator import reset_clock
from local.emulator.up import DEFAULT_CONFIG, LocalAws, _fresh_sandbox

pytestmark = pytest.mark.skipif(shutil.which("npx") is None, reason="the CDK CLI (npx) is not installed")

ENDPOINT = "recommender-prod"  # follows Production, lives in the registry account
RETIRED = "recommender-canary"  # a former deployment, retired with on_remove: delete
TARGET = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": f"endpoint/{ENDPOINT}/variant/AllTraffic",
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
}


@pytest.fixture(scope="module")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["retired"] = {RETIRED: {"on_remove": "delete"}}
    config = tmp_path_factory.mktemp("config") / "second-day.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    BackendDict.reset()
    local = LocalAws(config_path=config, port=0, log=lambda message: None, function_log_level="WARNING")
    try:
        local.start()
        yield local
    finally:
        local.stop()
        BackendDict.reset()
        reset_clock()


@pytest.fixture(scope="module")
def world(local_aws: LocalAws) -> Scenario:
    return Scenario(local_aws.info, say=lambda message: None)


def _registry_sm(world: Scenario) -> Any:
    return world.registry("sagemaker")


def _endpoint(world: Scenario, name: str = ENDPOINT) -> dict[str, Any] | None:
    try:
        return dict(_registry_sm(world).describe_endpoint(EndpointName=name))
    except ClientError:
        return None


def _variant(world: Scenario) -> dict[str, Any]:
    endpoint = _endpoint(world)
    assert endpoint is not None
    config = _registry_sm(world).describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    return dict(config["ProductionVariants"][0])


def _ledger(world: Scenario, endpoint: str = ENDPOINT) -> list[dict[str, Any]]:
    eid = f"{world.info['registry_account']}/{world.info['region']}/{endpoint}"
    items = world.registry("dynamodb").query(
        TableName=world.info["ledger_table"],
        KeyConditionExpression="endpoint_id = :e",
        ExpressionAttributeValues={":e": {"S": eid}},
    )["Items"]
    return [{k: next(iter(v.values())) for k, v in item.items()} for item in items]


def _served_version(world: Scenario) -> int | None:
    endpoint = _endpoint(world)
    if endpoint is None or endpoint["EndpointStatus"] != "InService":
        return None
    model = _registry_sm(world).describe_model(ModelName=_variant(world)["ModelName"])
    containers = model.get("Containers") or [model["PrimaryContainer"]]
    return int(containers[0]["ModelPackageName"].rsplit("/", 1)[1])


def _sweep(world: Scenario, name: str) -> None:
    """The periodic sweep (every 10 minutes on AWS), sent now as the scheduled rule would send it."""
    world.registry("sqs").send_message(
        QueueUrl=world.info["queue_url"],
        MessageBody=json.dumps(
            {
                "version": "0",
                "id": name,
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": world.info["registry_account"],
                "time": "2026-11-20T12:00:00Z",
                "region": world.info["region"],
                "resources": [],
                "detail": {},
            }
        ),
    )


def _redeploy(local_aws: LocalAws, **changes: Any) -> None:
    """The deployer after `cdk deploy` of a config where ENDPOINT's settings changed: a new sandbox
    reading the new deployments."""
    assert local_aws.runner is not None
    deployments = json.loads(local_aws.runner.environment["DEPLOYMENTS"])
    for item in deployments:
        if item["endpoint"] == ENDPOINT:
            item.update(changes)
    local_aws.runner.environment["DEPLOYMENTS"] = json.dumps(deployments)
    _fresh_sandbox()


def _recsys(world: Scenario) -> tuple[Any, Any]:
    """recsys's roles, through its data scientist's and release manager's own roles."""
    publisher = world.client(world.as_team("recsys", "publisher", "recsys-ds"), "sagemaker")
    approver = world.client(world.as_team("recsys", "approver", "recsys-ap"), "sagemaker")
    return publisher, approver


def _release(world: Scenario, tag: str) -> str:
    """A recommender version registered, approved and promoted to Production (what the endpoint follows)."""
    publisher, approver = _recsys(world)
    bucket = f"mlops-artifacts-{world.info['registry_account']}-{world.info['region']}"
    arn = publisher.create_model_package(
        ModelPackageGroupName="recommender",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": f"{world.info['registry_account']}.dkr.ecr.{world.info['region']}.amazonaws.com/recommender:{tag}",
                    "ModelDataUrl": f"s3://{bucket}/recsys/recommender/{tag}/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    approver.update_model_package(
        ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok"
    )
    approver.update_model_package(
        ModelPackageArn=arn,
        ModelLifeCycle={"Stage": "Production", "StageStatus": "Approved", "StageDescription": "ship it"},
    )
    return str(arn)


@pytest.fixture(scope="module")
def two_releases(world: Scenario) -> list[str]:
    first = _release(world, "1.0")
    world.wait("v1 serves", lambda: _served_version(world) == 1)
    second = _release(world, "2.0")
    world.wait("v2 serves", lambda: _served_version(world) == 2)
    world.wait(
        "ledger: v2 live",
        lambda: any(e["status"] == "live" and e.get("version") == "2" for e in _ledger(world)),
    )
    return [first, second]


def test_rejecting_the_serving_version_of_a_stage_follower_rolls_back_to_the_previous_one(
    world: Scenario, two_releases: list[str]
) -> None:
    """README: a stage-following endpoint needs the stage and an approved version, so rejecting the
    serving version rolls it back to the previous approved one in the stage."""
    _, approver = _recsys(world)
    approver.update_model_package(
        ModelPackageArn=two_releases[1], ModelApprovalStatus="Rejected", ApprovalDescription="bad clicks"
    )
    world.wait("v1 serves again", lambda: _served_version(world) == 1)
    last = world.wait(
        "ledger: v1 live again",
        lambda: (e := _ledger(world)[-1])["status"] == "live" and e["version"] == "1" and e,
    )
    assert last["serving_version"] == "1" and last["previous_version"] == "2"


def test_an_instance_type_and_count_change_rolls_out_blue_green_as_a_config_change(
    local_aws: LocalAws, world: Scenario, two_releases: list[str]
) -> None:
    world.wait("v1 serves", lambda: _served_version(world) == 1)
    before = _variant(world)
    assert (before["InstanceType"], before["InitialInstanceCount"]) == ("ml.c5.xlarge", 4)
    _redeploy(local_aws, instance_type="ml.c5.2xlarge", instance_count=2)
    _sweep(world, "sweep-after-config-change")
    started = world.wait(
        "ledger: config change started",
        lambda: next(
            (e for e in _ledger(world) if str(e.get("reason", "")).startswith("config change:")), None
        ),
    )
    assert started["status"] == "in_progress" and started["version"] == "1"
    assert "instance_type ml.c5.xlarge -> ml.c5.2xlarge" in started["reason"]
    assert "instance_count 4 -> 2" in started["reason"]
    world.wait(
        "ledger: config change live",
        lambda: str(_ledger(world)[-1].get("reason", "")).startswith("config change is live"),
    )
    after = _variant(world)
    assert (after["InstanceType"], after["InitialInstanceCount"], after["VariantName"]) == (
        "ml.c5.2xlarge",
        2,
        before["VariantName"],
    )
    assert _served_version(world) == 1
    endpoint = _endpoint(world)
    assert endpoint is not None and "BlueGreenUpdatePolicy" in endpoint["LastDeploymentConfig"]


def test_a_count_change_of_an_autoscaled_variant_moves_its_minimum(
    local_aws: LocalAws, world: Scenario, two_releases: list[str]
) -> None:
    scaling = world.registry("application-autoscaling")
    scaling.register_scalable_target(**TARGET, MinCapacity=2, MaxCapacity=8)
    entries = len(_ledger(world))
    _redeploy(local_aws, instance_type="ml.c5.2xlarge", instance_count=3)
    _sweep(world, "sweep-after-count-change")
    moved = world.wait(
        "ledger: autoscaling minimum moved",
        lambda: next(
            (e for e in _ledger(world)[entries:] if "autoscaling minimum" in e.get("reason", "")), None
        ),
    )
    assert moved["status"] == "live" and "2 -> 3" in moved["reason"]
    (target,) = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[TARGET["ResourceId"]]
    )["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 8)
    assert _variant(world)["InstanceType"] == "ml.c5.2xlarge"  # no new fleet


def test_a_retired_endpoint_with_on_remove_delete_is_deleted_with_a_ledger_entry(
    local_aws: LocalAws, world: Scenario
) -> None:
    sm = _registry_sm(world)
    registry = world.info["registry_account"]
    sm.create_model(
        ModelName=f"{RETIRED}-model",
        ExecutionRoleArn=f"arn:aws:iam::{registry}:role/mlops-sagemaker-execution",
        PrimaryContainer={
            "Image": f"{registry}.dkr.ecr.{world.info['region']}.amazonaws.com/recommender:0.9"
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=f"{RETIRED}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{RETIRED}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.c5.xlarge",
            }
        ],
    )
    # made by the deployer when it was a deployment: it carries the deployer's tag
    sm.create_endpoint(
        EndpointName=RETIRED,
        EndpointConfigName=f"{RETIRED}-config",
        Tags=[{"Key": "mlops:managed-by", "Value": "mlops-deployer"}],
    )
    world.wait(
        "retired endpoint InService",
        lambda: (e := _endpoint(world, RETIRED)) and e["EndpointStatus"] == "InService",
    )
    _sweep(world, "sweep-retires")
    deleted = world.wait("ledger: deleted", lambda: next(iter(_ledger(world, RETIRED)), None))
    assert deleted["status"] == "deleted" and "on_remove: delete" in deleted["reason"]
    world.wait("retired endpoint gone", lambda: _endpoint(world, RETIRED) is None)
    _sweep(world, "sweep-after-retirement")
    world.wait("queue drained", lambda: _drained(world))
    assert [e["status"] for e in _ledger(world, RETIRED)] == ["deleted"]  # once


def _drained(world: Scenario) -> bool:
    counters = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = world.registry("sqs").get_queue_attributes(
        QueueUrl=world.info["queue_url"], AttributeNames=counters
    )
    return all(attributes["Attributes"][c] == "0" for c in counters)
