"""`strategy: rolling` in the deployer's settings and the DeploymentConfig it sends."""

from __future__ import annotations

import pytest
from deployer.controller import deployment_config
from deployer.settings import parse_rollout

ROLLING = {
    "strategy": "rolling",
    "wait_seconds": 60,
    "batch": {"type": "CAPACITY_PERCENT", "value": 25},
    "batches": 4,
}


def test_round_trip_and_policy() -> None:
    rollout = parse_rollout(ROLLING)
    assert rollout.as_dict() == ROLLING
    assert rollout.total_wait_seconds == 240
    config = deployment_config(rollout, ["a"])
    assert "BlueGreenUpdatePolicy" not in config
    assert config["RollingUpdatePolicy"] == {
        "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        "WaitIntervalInSeconds": 60,
        "MaximumExecutionTimeoutInSeconds": 240 + 3600,
    }
    assert config["AutoRollbackConfiguration"] == {"Alarms": [{"AlarmName": "a"}]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"batch": {"type": "PERCENT", "value": 25}},
            "rollout.batch: .* expected {'type': CAPACITY_PERCENT | INSTANCE_COUNT",
        ),
        (
            {"batch": {"type": "CAPACITY_PERCENT", "value": 60}},
            r"rollout.batch.value: 60: expected an integer from 5 to 50",
        ),
        ({"rollback_batch": {"type": "CAPACITY_PERCENT", "value": 0}}, "rollout.rollback_batch.value: 0"),
        (
            {"max_execution_seconds": 100},
            "rollout.max_execution_seconds: 100: expected an integer from 600 to 28800",
        ),
        ({"wait_seconds": 3600, "batches": 8}, "the waits add up to 28800 s"),
    ],
)
def test_bad_rolling_settings_name_the_key(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rollout({**ROLLING, **change})
