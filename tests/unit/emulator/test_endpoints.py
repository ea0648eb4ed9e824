"""UpdateEndpoint and endpoint status transitions (local.emulator.endpoints)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.emulator import advance, configure, event_status, pending_count

from .conftest import ACCOUNT, REGION, Capture, make_endpoint_configs

ALARM = "mlops-e-5xx"


def _blue_green(alarms: list[str]) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                "WaitIntervalInSeconds": 300,
            },
            "TerminationWaitInSeconds": 0,
            "MaximumExecutionTimeoutInSeconds": 1800,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": a} for a in alarms]},
    }


def _alarm(state: str, name: str = ALARM) -> None:
    cw = boto3.client("cloudwatch", region_name=REGION)
    cw.put_metric_alarm(
        AlarmName=name,
        MetricName="Invocation5XXErrors",
        Namespace="AWS/SageMaker",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def _phase(sm: Any, name: str = "e") -> tuple[str, dict[str, Any]]:
    d = sm.describe_endpoint(EndpointName=name)
    variant = d["PendingDeploymentSummary"]["ProductionVariants"][0]
    return d["EndpointStatus"], variant["VariantStatus"][0]


def _status(sm: Any, name: str = "e") -> tuple[str, str]:
    d = sm.describe_endpoint(EndpointName=name)
    return d["EndpointStatus"], d["EndpointConfigName"]


@pytest.fixture
def live(sm: Any) -> Any:
    make_endpoint_configs(sm, "cfg-1", "cfg-2")
    sm.create_endpoint(EndpointName="e", EndpointConfigName="cfg-1")
    advance()
    return sm


def test_create_passes_through_creating(sm: Any) -> None:
    make_endpoint_configs(sm, "cfg-1")
    sm.create_endpoint(EndpointName="e", EndpointConfigName="cfg-1")
    assert _status(sm) == ("Creating", "cfg-1")
    assert sm.list_endpoints()["Endpoints"][0]["EndpointStatus"] == "Creating"
    assert advance(0.5) == []
    assert _status(sm)[0] == "Creating"
    applied = advance(0.5)
    assert [(t.endpoint_name, t.status) for t in applied] == [("e", "InService")]
    assert _status(sm) == ("InService", "cfg-1")
    assert pending_count() == 0


def test_create_existing_endpoint_or_missing_config_fails(live: Any) -> None:
    with pytest.raises(ClientError, match="Cannot create already existing endpoint") as err:
        live.create_endpoint(EndpointName="e", EndpointConfigName="cfg-1")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError, match="Could not find endpoint configuration"):
        live.create_endpoint(EndpointName="f", EndpointConfigName="nope")


def test_canary_update_plays_its_phases_on_the_clock(live: Any) -> None:
    config = _blue_green([ALARM])
    config["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] = 600
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=config)
    status, phase = _phase(live)
    assert (status, phase["Status"]) == ("Updating", "Creating")
    advance(1)
    assert _phase(live)[1]["StatusMessage"].startswith("canary: 25% of traffic on the new fleet")
    advance(299.9)
    assert _phase(live)[1]["StatusMessage"].startswith("canary")
    advance(0.1)
    assert _phase(live)[1]["StatusMessage"].startswith("baking: 100% of traffic on the new fleet")
    advance(599.9)
    assert _status(live) == ("Updating", "cfg-1")
    advance(0.1)
    assert _status(live) == ("InService", "cfg-2")


def test_speed_runs_the_waits_faster(live: Any) -> None:
    configure(speed=100)
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=_blue_green([ALARM]))
    advance(1 + 2.9)
    assert _status(live) == ("Updating", "cfg-1")
    advance(0.1)
    assert _status(live) == ("InService", "cfg-2")


def test_update_goes_updating_then_in_service_on_new_config(live: Any) -> None:
    arn = live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2")["EndpointArn"]
    assert arn.endswith(":endpoint/e")
    d = live.describe_endpoint(EndpointName="e")
    assert (d["EndpointStatus"], d["EndpointConfigName"]) == ("Updating", "cfg-1")
    assert d["PendingDeploymentSummary"]["EndpointConfigName"] == "cfg-2"
    advance(1)
    d = live.describe_endpoint(EndpointName="e")
    assert (d["EndpointStatus"], d["EndpointConfigName"]) == ("InService", "cfg-2")
    assert "PendingDeploymentSummary" not in d
    assert d["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    assert d["ProductionVariants"][0]["CurrentInstanceCount"] == 2


def test_update_of_busy_endpoint_fails_like_aws(live: Any) -> None:
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2")
    with pytest.raises(ClientError) as err:
        live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-1")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert err.value.response["Error"]["Message"] == (
        f'Cannot update in-progress endpoint "arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/e".'
    )


def test_update_of_creating_endpoint_fails(sm: Any) -> None:
    make_endpoint_configs(sm, "cfg-1", "cfg-2")
    sm.create_endpoint(EndpointName="e", EndpointConfigName="cfg-1")
    with pytest.raises(ClientError, match="Cannot update in-progress endpoint"):
        sm.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2")


def test_update_unknown_endpoint_or_config(live: Any) -> None:
    with pytest.raises(ClientError, match='Could not find endpoint "arn:aws:sagemaker:.*:endpoint/nope"'):
        live.update_endpoint(EndpointName="nope", EndpointConfigName="cfg-2")
    with pytest.raises(ClientError, match="Could not find endpoint configuration"):
        live.update_endpoint(EndpointName="e", EndpointConfigName="nope")
    assert _status(live) == ("InService", "cfg-1")


def test_alarm_in_alarm_state_rolls_back_to_old_config(live: Any) -> None:
    _alarm("OK")
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=_blue_green([ALARM]))
    advance(1)  # provisioned: the canary wait begins
    assert _status(live) == ("Updating", "cfg-1")
    _alarm("ALARM")
    assert _status(live) == ("RollingBack", "cfg-1")
    applied = advance()
    assert [t.status for t in applied] == ["InService"]
    d = live.describe_endpoint(EndpointName="e")
    assert (d["EndpointStatus"], d["EndpointConfigName"]) == ("InService", "cfg-1")
    assert "FailureReason" not in d
    assert d["LastDeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"] == [{"AlarmName": ALARM}]


def test_alarm_acts_only_during_waits_and_baking_not_while_provisioning(live: Any) -> None:
    """AWS: alarms monitor the new fleet during the baking periods (deployment-guardrails pages)."""
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=_blue_green([ALARM]))
    advance(0.5)
    _alarm("ALARM")  # while the green fleet is provisioned: not watched yet
    assert _status(live) == ("Updating", "cfg-1")
    _alarm("OK")
    advance(0.5)
    _, phase = _phase(live)
    assert phase["Status"] == "Baking" and phase["StatusMessage"].startswith("canary: 25%")
    _alarm("ALARM")
    assert _status(live) == ("RollingBack", "cfg-1")


def test_alarm_checked_when_update_would_complete(live: Any) -> None:
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=_blue_green([ALARM]))
    _alarm("ALARM")
    assert [t.status for t in advance()] == ["RollingBack", "InService"]
    assert _status(live) == ("InService", "cfg-1")


def test_alarm_ok_or_not_named_does_not_roll_back(live: Any) -> None:
    _alarm("ALARM", name="someone-elses-alarm")
    _alarm("OK")
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=_blue_green([ALARM]))
    assert [t.status for t in advance()] == ["InService"]
    assert _status(live) == ("InService", "cfg-2")


def test_alarm_in_other_region_is_ignored(live: Any) -> None:
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    cw.put_metric_alarm(
        AlarmName=ALARM,
        MetricName="m",
        Namespace="n",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    cw.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="x")
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=_blue_green([ALARM]))
    advance()
    assert _status(live) == ("InService", "cfg-2")


def test_durations_are_configurable(live: Any) -> None:
    configure(updating_seconds=10)
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2")
    advance(9.9)
    assert _status(live)[0] == "Updating"
    advance(0.1)
    assert _status(live) == ("InService", "cfg-2")


def test_retain_deployment_config_reuses_last_alarms(live: Any) -> None:
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=_blue_green([ALARM]))
    advance()
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-1", RetainDeploymentConfig=True)
    _alarm("ALARM")
    advance()
    assert _status(live) == ("InService", "cfg-2")


def test_delete_endpoint_cancels_pending_transition(live: Any) -> None:
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2")
    live.delete_endpoint(EndpointName="e")
    assert advance() == []
    assert live.list_endpoints()["Endpoints"] == []


def test_endpoint_state_change_events(sm: Any) -> None:
    capture = Capture({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Endpoint State Change"]})
    make_endpoint_configs(sm, "cfg-1", "cfg-2")
    sm.create_endpoint(EndpointName="e", EndpointConfigName="cfg-1", Tags=[{"Key": "team", "Value": "fraud"}])
    advance()
    sm.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2")
    advance()
    sm.delete_endpoint(EndpointName="e")
    got = capture.drain()
    assert [e["detail"]["EndpointStatus"] for e in got] == [
        "CREATING",
        "IN_SERVICE",
        "UPDATING",
        "IN_SERVICE",
        "DELETING",
    ]
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/e"
    first = got[0]
    assert first["source"] == "aws.sagemaker"
    assert first["detail-type"] == "SageMaker Endpoint State Change"
    assert first["account"] == ACCOUNT
    assert first["region"] == REGION
    assert first["resources"] == [arn]
    assert first["version"] == "0"
    assert first["time"].endswith("Z")
    detail = first["detail"]
    assert detail["EndpointName"] == "e"
    assert detail["EndpointArn"] == arn
    assert detail["EndpointConfigName"] == "cfg-1"
    assert detail["Tags"] == {"team": "fraud"}
    assert detail["ProductionVariants"] == [{"VariantName": "AllTraffic", "DesiredInstanceCount": 2}]
    assert isinstance(detail["CreationTime"], float)
    assert got[3]["detail"]["EndpointConfigName"] == "cfg-2"


def test_rollback_events(live: Any) -> None:
    capture = Capture({"source": ["aws.sagemaker"], "detail-type": ["SageMaker Endpoint State Change"]})
    live.update_endpoint(EndpointName="e", EndpointConfigName="cfg-2", DeploymentConfig=_blue_green([ALARM]))
    _alarm("ALARM")
    advance()
    got = capture.drain()
    assert [(e["detail"]["EndpointStatus"], e["detail"]["EndpointConfigName"]) for e in got] == [
        ("UPDATING", "cfg-1"),
        ("ROLLING_BACK", "cfg-1"),
        ("IN_SERVICE", "cfg-1"),
    ]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("InService", "IN_SERVICE"),
        ("RollingBack", "ROLLING_BACK"),
        ("SystemUpdating", "SYSTEM_UPDATING"),
        ("Creating", "CREATING"),
        ("UpdateRollbackFailed", "UPDATE_ROLLBACK_FAILED"),
    ],
)
def test_event_status_spelling(status: str, expected: str) -> None:
    assert event_status(status) == expected
