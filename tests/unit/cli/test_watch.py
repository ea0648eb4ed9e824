"""watch: the pure parts (phases, bar, line, outcome), then the command following emulated rollouts."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import boto3

from local.emulator import advance
from mlops_cli.cmd_watch import Snapshot, bar, outcome, planned_phases, render
from tests.unit.cli.world import REGION, SERVING_ACCOUNT, World

ALARM = "fraud-prod-5xx"


def _canary(alarms: list[str]) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                "WaitIntervalInSeconds": 300,
            },
            "TerminationWaitInSeconds": 600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": a} for a in alarms]},
    }


def test_planned_phases() -> None:
    assert planned_phases(_canary([]), 2) == ["provisioning", "canary", "baking"]
    linear = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "LINEAR",
                "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            }
        }
    }
    assert planned_phases(linear, 4) == ["provisioning", "linear 1", "linear 2", "linear 3", "baking"]
    rolling = {"RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 2}}}
    assert planned_phases(rolling, 4) == ["provisioning 1", "batch 1", "provisioning 2", "batch 2"]
    assert planned_phases(None, 1) == ["provisioning", "baking"]


def test_bar_and_line() -> None:
    assert bar(1, 3) == "[#######.............] 1/3"
    assert bar(0, 0).startswith("[????")
    snap = Snapshot(
        status="Updating",
        serving_version=1,
        new_version=2,
        phase="canary",
        new_share=25.0,
        step=1,
        steps=3,
        alarms={ALARM: "OK"},
    )
    line = render(snap, datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC))
    assert line.startswith("12:00:05  Updating")
    assert "canary" in line and "1/3" in line
    assert f"v1 75% | v2 25%  alarms: {ALARM} OK" in line


def test_outcomes() -> None:
    start = Snapshot("Updating", 1, 2)
    assert outcome(start, Snapshot("InService", 2), False, 2)[0] == 0
    assert outcome(start, Snapshot("InService", 1), True, 2)[0] == 7
    assert outcome(start, Snapshot("InService", 1), False, 2)[0] == 7
    assert outcome(start, Snapshot("Failed", 1, failure_reason="boom"), False, 2) == (5, "Failed: boom")


def _seed(world: World) -> Any:
    world.group("fraud-detector", team="risk")
    world.version("fraud-detector", "Approved")
    world.version("fraud-detector", "Approved")
    world.endpoint("fraud-prod", world.package_arn("fraud-detector", 1), account=SERVING_ACCOUNT)
    world.deployment("fraud-prod", "fraud-detector", account=SERVING_ACCOUNT)
    world.deployer()
    sm = world.sagemaker_in(SERVING_ACCOUNT)
    sm.create_model(
        ModelName="fraud-prod-m2",
        ExecutionRoleArn=f"arn:aws:iam::{SERVING_ACCOUNT}:role/mlops-sagemaker-execution",
        Containers=[{"ModelPackageName": world.package_arn("fraud-detector", 2)}],
    )
    sm.create_endpoint_config(
        EndpointConfigName="fraud-prod-c2",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "fraud-prod-m2",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 2,
            }
        ],
    )
    return sm


def _cloudwatch(world: World) -> Any:
    creds = world.sts.assume_role(
        RoleArn=f"arn:aws:iam::{SERVING_ACCOUNT}:role/mlops-deploy-access", RoleSessionName="test-setup"
    )["Credentials"]
    cw = boto3.client(
        "cloudwatch",
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    cw.put_metric_alarm(
        AlarmName=ALARM,
        MetricName="Invocation5XXErrors",
        Namespace="AWS/SageMaker",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    return cw


def _watch_in_background(cli: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: result.update(run=cli("watch", "fraud-prod", "--interval", "0.05", "--timeout", "30"))
    )
    thread.start()
    return thread, result


def _step(calls: Any, seconds: float) -> None:
    """Advance the clock once the watch has polled the current state twice."""
    seen = len(calls.named("DescribeEndpoint"))
    deadline = time.monotonic() + 30
    while len(calls.named("DescribeEndpoint")) < seen + 2:
        assert time.monotonic() < deadline, "the watch does not poll"
        time.sleep(0.02)
    advance(seconds)


def test_watch_follows_a_canary_to_the_end(world: World, cli, calls) -> None:
    sm = _seed(world)
    _cloudwatch(world)
    sm.update_endpoint(
        EndpointName="fraud-prod", EndpointConfigName="fraud-prod-c2", DeploymentConfig=_canary([ALARM])
    )
    thread, result = _watch_in_background(cli)
    for seconds in (1, 300, 600):
        _step(calls, seconds)
    thread.join(timeout=30)
    run = result["run"]
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert any("provisioning" in line and "v1 100% | v2 0%" in line for line in lines)
    canary = next(line for line in lines if " canary " in line)
    assert "v1 75% | v2 25%" in canary and "[" in canary and "2/3" not in canary
    assert f"alarms: {ALARM} OK" in canary
    assert any("baking" in line and "v2 100%" in line for line in lines)
    assert lines[-1] == "rollout complete: v2 serves all traffic"


def test_watch_exits_7_on_an_alarm_rollback(world: World, cli, calls) -> None:
    sm = _seed(world)
    cw = _cloudwatch(world)
    sm.update_endpoint(
        EndpointName="fraud-prod", EndpointConfigName="fraud-prod-c2", DeploymentConfig=_canary([ALARM])
    )
    thread, result = _watch_in_background(cli)
    _step(calls, 1)  # canary
    _step(calls, 0)
    cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="test")
    _step(calls, 0)
    _step(calls, 5)
    thread.join(timeout=30)
    run = result["run"]
    assert run.code == 7, run.out + run.err
    assert any("RollingBack" in line for line in run.out.splitlines())
    assert run.out.splitlines()[-1].startswith("rolled back: v1 serves")


def test_watch_with_nothing_to_watch(world: World, cli) -> None:
    _seed(world)
    run = cli("watch", "fraud-prod", "--json")
    assert run.code == 0, run.err
    assert run.json()["outcome"] == "no rollout in progress: InService on v1"
