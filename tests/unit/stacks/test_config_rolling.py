"""`rollout.strategy: rolling`: RollingUpdatePolicy's limits checked in the config, errors name the key."""

from __future__ import annotations

from typing import Any

import pytest
from deployer.controller import deployment_config
from deployer.settings import parse_rollout

from stacks.config import ConfigError, parse_config
from tests.unit.stacks.test_config import DEP, with_change


def _rolling(count: int = 4, **rollout: Any) -> dict[str, Any]:
    raw = with_change(f"{DEP}.rollout", {"strategy": "rolling", **rollout})
    raw["deployments"]["fraud-detector-prod"]["instance_count"] = count
    return raw


def test_rolling_in_percent_with_defaults() -> None:
    rollout = parse_config(_rolling(batch_percent=25)).deployments[0].rollout
    assert rollout.strategy == "rolling"
    assert rollout.as_dict() == {
        "strategy": "rolling",
        "wait_seconds": 300,
        "batch": {"type": "CAPACITY_PERCENT", "value": 25},
        "batches": 4,
    }


def test_rolling_in_instances_with_every_key_reaches_the_deployer_as_a_rolling_update_policy() -> None:
    raw = _rolling(
        count=10,
        batch_instances=3,
        wait_seconds=120,
        max_execution_seconds=7200,
        rollback_batch_percent=50,
    )
    data = parse_config(raw).deployments[0].rollout.as_dict()
    assert data["batches"] == 4
    config = deployment_config(parse_rollout(data), ["a-5xx"])
    assert config == {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 3},
            "WaitIntervalInSeconds": 120,
            "MaximumExecutionTimeoutInSeconds": 7200,
            "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "a-5xx"}]},
    }


def test_derived_timeout_covers_the_batches() -> None:
    data = parse_config(_rolling(batch_percent=25, wait_seconds=600)).deployments[0].rollout.as_dict()
    policy = deployment_config(parse_rollout(data), ["a"])["RollingUpdatePolicy"]
    assert policy["MaximumExecutionTimeoutInSeconds"] == 4 * 600 + 3600


@pytest.mark.parametrize(
    ("rollout", "count", "key", "allowed"),
    [
        ({"batch_percent": 4}, 4, "rollout.batch_percent", "from 5 to 50"),
        ({"batch_percent": 60}, 4, "rollout.batch_percent", "from 5 to 50"),
        ({"batch_instances": 3}, 4, "rollout.batch_instances", "from 1 to 2"),
        ({"batch_instances": 2}, 3, "rollout.batch_instances", "from 1 to 1"),
        ({}, 4, "rollout.batch_percent", "rolling needs batch_percent"),
        ({"batch_percent": 25, "batch_instances": 1}, 4, "rollout.batch_instances", "only one of"),
        ({"batch_percent": 50}, 1, "rollout.strategy", "instance_count >= 2"),
        ({"batch_percent": 25, "wait_seconds": 3601}, 4, "rollout.wait_seconds", "from 0 to 3600"),
        (
            {"batch_percent": 25, "max_execution_seconds": 599},
            4,
            "rollout.max_execution_seconds",
            "600 to 28800",
        ),
        (
            {"batch_percent": 25, "max_execution_seconds": 28801},
            4,
            "rollout.max_execution_seconds",
            "600 to 28800",
        ),
        (
            {"batch_percent": 25, "wait_seconds": 600, "max_execution_seconds": 2400},
            4,
            "rollout.max_execution_seconds",
            "more than the 2400 s the batches wait (4 x 600 s)",
        ),
        ({"batch_percent": 5, "wait_seconds": 1500}, 40, "rollout.wait_seconds", "20 batches x 1500 s"),
        (
            {"batch_percent": 25, "rollback_batch_percent": 101},
            4,
            "rollout.rollback_batch_percent",
            "5 to 100",
        ),
        ({"batch_percent": 25, "step_percent": 25}, 4, "rollout.step_percent", "allowed keys"),
    ],
)
def test_rolling_errors_name_key_value_and_allowed(
    rollout: dict[str, Any], count: int, key: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_rolling(count=count, **rollout))
    assert err.value.path == f"{DEP}.{key}"
    assert allowed in str(err.value)
