"""The phases of an endpoint update, planned from ``UpdateEndpoint``'s ``DeploymentConfig`` (pure).

What AWS documents, and this module follows:

- Blue/green (``BlueGreenUpdatePolicy``): SageMaker provisions the whole new (green) fleet, then shifts
  traffic. CANARY: the canary share for ``WaitIntervalInSeconds``, then all traffic; LINEAR: steps of
  ``LinearStepSize`` with ``WaitIntervalInSeconds`` after each; ALL_AT_ONCE: all traffic at once. With
  all traffic on the new fleet, the final baking period lasts ``TerminationWaitInSeconds``; then the old
  (blue) fleet is terminated. "If alarms trip during any of the baking periods, 100% of the endpoint
  traffic rolls back to the blue fleet."
  https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-canary.html
  https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-linear.html
  https://docs.amazonaws.cn/en_us/sagemaker/latest/dg/deployment-guardrails-blue-green-all-at-once.md
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html
- Rolling (``RollingUpdatePolicy``): per batch of ``MaximumBatchSize``, provision the batch on the new
  fleet, turn its traffic on and terminate the same capacity on the old fleet; ``WaitIntervalInSeconds``
  is "the length of the baking period, during which SageMaker monitors alarms for each batch on the new
  fleet". A rollback brings the old fleet back in batches of ``RollbackMaximumBatchSize`` (default 100%:
  all at once). https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RollingUpdatePolicy.html
  https://docs.amazonaws.cn/en_us/sagemaker/latest/dg/deployment-guardrails-rolling.md
- Alarms are watched only while a phase waits/bakes (``monitored``); provisioning is not watched.
- ``ProductionVariantStatus.Status`` values: Creating | Updating | Deleting | ActivatingTraffic | Baking.
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariantStatus.html

Traffic share of a step is the capacity that turned on: ``CAPACITY_PERCENT`` -> that percent,
``INSTANCE_COUNT`` -> count / instances (AWS routes by active capacity; the emulator does not round to
whole instances for percentages, so a 25% canary of 2 instances serves 25%, not 50%).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Phase:
    """One period of an update during which the traffic split does not change."""

    name: str  # provisioning | canary | linear | baking | batch | rolling_back
    seconds: float  # emulator-clock duration
    new_share: float  # fraction of requests the new fleet serves (0..1)
    monitored: bool  # rollback alarms act during this phase
    variant_status: str  # ProductionVariantStatus.Status shown in PendingDeploymentSummary
    old_instances: int
    new_instances: int
    step: int = 0  # 1-based step/batch number for linear and rolling phases

    @property
    def message(self) -> str:
        label = f"{self.name} {self.step}" if self.step else self.name
        return (
            f"{label}: {round(self.new_share * 100, 1):g}% of traffic on the new fleet "
            f"({self.new_instances} new, {self.old_instances} old instances)"
        )


def _capacity(size: dict[str, Any] | None, instances: int, default_fraction: float) -> float:
    """A CapacitySize as a fraction of the fleet (0..1]."""
    if not size:
        return default_fraction
    value = float(size.get("Value", 0))
    if size.get("Type") == "INSTANCE_COUNT":
        return min(1.0, value / max(instances, 1))
    return min(1.0, value / 100.0)


def _instances(fraction: float, instances: int) -> int:
    return min(instances, max(1, math.ceil(round(fraction * instances, 9))))


def plan(
    deployment_config: dict[str, Any] | None,
    instances: int,
    *,
    provisioning_seconds: float,
    speed: float = 1.0,
) -> list[Phase]:
    """The phases of an update from ``DeploymentConfig``; waits are divided by ``speed``."""
    config = deployment_config or {}
    n = max(instances, 1)
    rolling = config.get("RollingUpdatePolicy")
    if rolling:
        return _plan_rolling(rolling, n, provisioning_seconds, speed)
    policy = config.get("BlueGreenUpdatePolicy") or {}
    routing = policy.get("TrafficRoutingConfiguration") or {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
    wait = float(routing.get("WaitIntervalInSeconds") or 0) / speed
    bake = float(policy.get("TerminationWaitInSeconds") or 0) / speed
    phases = [Phase("provisioning", provisioning_seconds, 0.0, False, "Creating", n, n)]
    kind = routing.get("Type", "ALL_AT_ONCE")
    if kind == "CANARY":
        share = _capacity(routing.get("CanarySize"), n, 0.1)
        phases.append(Phase("canary", wait, share, True, "Baking", n, n))
    elif kind == "LINEAR":
        step = _capacity(routing.get("LinearStepSize"), n, 0.1)
        count = math.ceil(round(1.0 / step, 9))
        for k in range(1, count):
            phases.append(Phase("linear", wait, k * step, True, "Baking", n, n, step=k))
    phases.append(Phase("baking", bake, 1.0, True, "Baking", n, n))
    return phases


def _plan_rolling(policy: dict[str, Any], n: int, provisioning_seconds: float, speed: float) -> list[Phase]:
    batch = _instances(_capacity(policy.get("MaximumBatchSize"), n, 0.5), n)
    wait = float(policy.get("WaitIntervalInSeconds") or 0) / speed
    batches = math.ceil(n / batch)
    each = provisioning_seconds / batches
    phases: list[Phase] = []
    moved = 0
    for k in range(1, batches + 1):
        size = min(batch, n - moved)
        # the new batch comes up next to the whole old fleet: n + batch instances, never 2n
        phases.append(
            Phase("provisioning", each, moved / n, False, "Creating", n - moved, moved + size, step=k)
        )
        moved += size
        phases.append(Phase("batch", wait, moved / n, True, "Baking", n - moved, moved, step=k))
    return phases


def plan_rollback(
    deployment_config: dict[str, Any] | None,
    instances: int,
    current: Phase,
    *,
    rolling_back_seconds: float,
) -> list[Phase]:
    """Phases that bring all traffic back to the old fleet from ``current``.

    Blue/green: the old fleet still runs, so all traffic returns at once. Rolling: old capacity comes
    back in batches of ``RollbackMaximumBatchSize`` (default 100%), each batch taking its traffic back.
    """
    config = deployment_config or {}
    n = max(instances, 1)
    rolling = config.get("RollingUpdatePolicy")
    if not rolling or current.new_share == 0:
        return [Phase("rolling_back", rolling_back_seconds, 0.0, False, "Deleting", n, 0)]
    batch = _instances(_capacity(rolling.get("RollbackMaximumBatchSize"), n, 1.0), n)
    on_new = round(current.new_share * n)  # instances of the new fleet that serve traffic now
    steps = max(1, math.ceil(on_new / batch))
    phases: list[Phase] = []
    for k in range(1, steps + 1):
        on_new = max(0, on_new - batch)
        phases.append(
            Phase(
                "rolling_back",
                rolling_back_seconds / steps,
                on_new / n,
                False,
                "Updating",
                n - on_new,
                on_new,
                k,
            )
        )
    return phases


def peak_instances(phases: list[Phase]) -> int:
    """The most instances running at once during these phases (capacity a rollout needs)."""
    return max((p.old_instances + p.new_instances for p in phases), default=0)
