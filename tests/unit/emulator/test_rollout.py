"""Rollout phases planned from DeploymentConfig (local.emulator.rollout), pure."""

from __future__ import annotations

from typing import Any

import pytest

from local.emulator.rollout import Phase, peak_instances, plan, plan_rollback


def _blue_green(
    kind: str, size: dict[str, Any] | None = None, wait: int = 300, bake: int = 600
) -> dict[str, Any]:
    routing: dict[str, Any] = {"Type": kind, "WaitIntervalInSeconds": wait}
    if kind == "CANARY":
        routing["CanarySize"] = size
    elif kind == "LINEAR":
        routing["LinearStepSize"] = size
    return {
        "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing, "TerminationWaitInSeconds": bake}
    }


def _rolling(batch: dict[str, Any], wait: int = 60, rollback: dict[str, Any] | None = None) -> dict[str, Any]:
    policy: dict[str, Any] = {"MaximumBatchSize": batch, "WaitIntervalInSeconds": wait}
    if rollback:
        policy["RollbackMaximumBatchSize"] = rollback
    return {"RollingUpdatePolicy": policy}


def _shape(phases: list[Phase]) -> list[tuple[str, float, float, bool]]:
    return [(p.name, p.seconds, round(p.new_share, 4), p.monitored) for p in phases]


def test_canary_provisions_then_canary_wait_then_final_bake() -> None:
    phases = plan(_blue_green("CANARY", {"Type": "CAPACITY_PERCENT", "Value": 25}), 4, provisioning_seconds=2)
    assert _shape(phases) == [
        ("provisioning", 2, 0.0, False),
        ("canary", 300, 0.25, True),
        ("baking", 600, 1.0, True),
    ]
    assert peak_instances(phases) == 8  # blue/green doubles the fleet
    assert phases[1].variant_status == "Baking"
    assert phases[1].message == "canary: 25% of traffic on the new fleet (4 new, 4 old instances)"


def test_linear_steps_up_to_all_traffic_then_bakes() -> None:
    phases = plan(
        _blue_green("LINEAR", {"Type": "CAPACITY_PERCENT", "Value": 25}, wait=120), 4, provisioning_seconds=1
    )
    assert _shape(phases) == [
        ("provisioning", 1, 0.0, False),
        ("linear", 120, 0.25, True),
        ("linear", 120, 0.5, True),
        ("linear", 120, 0.75, True),
        ("baking", 600, 1.0, True),
    ]
    assert [p.step for p in phases[1:4]] == [1, 2, 3]


def test_linear_step_that_does_not_divide_100() -> None:
    phases = plan(_blue_green("LINEAR", {"Type": "CAPACITY_PERCENT", "Value": 40}), 5, provisioning_seconds=1)
    assert [round(p.new_share, 2) for p in phases] == [0.0, 0.4, 0.8, 1.0]


def test_instance_count_sizes_are_shares_of_the_fleet() -> None:
    phases = plan(_blue_green("CANARY", {"Type": "INSTANCE_COUNT", "Value": 1}), 4, provisioning_seconds=1)
    assert phases[1].new_share == 0.25


def test_all_at_once_and_no_config_bake_for_the_termination_wait() -> None:
    assert _shape(plan(_blue_green("ALL_AT_ONCE", bake=120), 2, provisioning_seconds=1)) == [
        ("provisioning", 1, 0.0, False),
        ("baking", 120, 1.0, True),
    ]
    assert _shape(plan(None, 2, provisioning_seconds=1)) == [
        ("provisioning", 1, 0.0, False),
        ("baking", 0, 1.0, True),
    ]


def test_speed_divides_the_waits_only() -> None:
    phases = plan(
        _blue_green("CANARY", {"Type": "CAPACITY_PERCENT", "Value": 25}), 4, provisioning_seconds=2, speed=100
    )
    assert [p.seconds for p in phases] == [2, 3, 6]


@pytest.mark.parametrize(
    ("instances", "batch", "shares"),
    [
        (4, {"Type": "CAPACITY_PERCENT", "Value": 25}, [0.25, 0.5, 0.75, 1.0]),
        (4, {"Type": "INSTANCE_COUNT", "Value": 2}, [0.5, 1.0]),
        (10, {"Type": "CAPACITY_PERCENT", "Value": 30}, [0.3, 0.6, 0.9, 1.0]),
    ],
)
def test_rolling_moves_batches_and_never_doubles_capacity(
    instances: int, batch: dict[str, Any], shares: list[float]
) -> None:
    phases = plan(_rolling(batch), instances, provisioning_seconds=4)
    batches = [p for p in phases if p.name == "batch"]
    assert [round(p.new_share, 4) for p in batches] == shares
    assert all(p.monitored and p.seconds == 60 for p in batches)
    assert not any(p.monitored for p in phases if p.name == "provisioning")
    assert sum(p.seconds for p in phases if p.name == "provisioning") == pytest.approx(4)
    size = round(shares[0] * instances)
    assert peak_instances(phases) == instances + size < 2 * instances
    # while batches move, both versions serve: every share strictly between 0 and 1 before the last
    assert all(0 < p.new_share < 1 for p in batches[:-1])
    # old instances are terminated as new ones take traffic: serving capacity stays at the fleet size
    assert all(p.old_instances + p.new_instances == instances for p in batches)


def test_blue_green_rollback_sends_all_traffic_back_at_once() -> None:
    config = _blue_green("LINEAR", {"Type": "CAPACITY_PERCENT", "Value": 25})
    current = plan(config, 4, provisioning_seconds=1)[2]
    assert _shape(plan_rollback(config, 4, current, rolling_back_seconds=1)) == [
        ("rolling_back", 1, 0.0, False)
    ]


def test_rolling_rollback_default_is_all_old_capacity_at_once() -> None:
    config = _rolling({"Type": "CAPACITY_PERCENT", "Value": 25})
    current = [p for p in plan(config, 8, provisioning_seconds=1) if p.name == "batch"][2]  # 75% on new
    assert _shape(plan_rollback(config, 8, current, rolling_back_seconds=1)) == [
        ("rolling_back", 1, 0.0, False)
    ]


def test_rolling_rollback_in_batches() -> None:
    config = _rolling(
        {"Type": "CAPACITY_PERCENT", "Value": 25}, rollback={"Type": "INSTANCE_COUNT", "Value": 2}
    )
    current = [p for p in plan(config, 8, provisioning_seconds=1) if p.name == "batch"][2]  # 6 of 8 new
    steps = plan_rollback(config, 8, current, rolling_back_seconds=3)
    assert [(round(p.new_share, 3), p.seconds) for p in steps] == [(0.5, 1), (0.25, 1), (0.0, 1)]
