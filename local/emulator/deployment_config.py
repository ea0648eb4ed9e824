"""What SageMaker refuses in ``UpdateEndpoint``'s ``DeploymentConfig`` (called from endpoints.py).

Limits, each from the API reference or the developer guide:

- BlueGreenUpdatePolicy: ``TerminationWaitInSeconds`` 0-3600, ``MaximumExecutionTimeoutInSeconds``
  600-28800 and larger than the waits
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_BlueGreenUpdatePolicy.html);
- TrafficRoutingConfig: ``Type`` ALL_AT_ONCE | CANARY | LINEAR, ``WaitIntervalInSeconds`` 0-3600,
  ``CanarySize`` for CANARY and ``LinearStepSize`` for LINEAR
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TrafficRoutingConfig.html);
- the canary at most 50% of the new fleet's capacity
  (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-canary.html),
  each linear step 10-50% of it
  (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-linear.html);
  a percentage is turned into whole instances by rounding up (AWS does not document the rounding:
  rounding up is the stricter reading, and the deployer assumes the same);
- AutoRollbackConfig: 1-10 alarms
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_AutoRollbackConfig.html).

The wording of the messages is ours (AWS answers ``ValidationException``).
"""

from __future__ import annotations

import math
from typing import Any

from moto.sagemaker.exceptions import ValidationError

MAX_WAIT = 3600
EXECUTION_TIMEOUT = (600, 28800)
ROUTING_TYPES = ("ALL_AT_ONCE", "CANARY", "LINEAR")


def _instances(size: dict[str, Any], fleet: int) -> int:
    value = int(size.get("Value", 0))
    if size.get("Type") == "CAPACITY_PERCENT":
        return math.ceil(fleet * value / 100)
    return value


def validate(deployment_config: dict[str, Any] | None, fleet: int) -> None:
    """Raise ValidationError for a DeploymentConfig SageMaker refuses; ``fleet`` is the new fleet's
    instance count (the new EndpointConfig's variant)."""
    if not deployment_config:
        return
    alarms = (deployment_config.get("AutoRollbackConfiguration") or {}).get("Alarms")
    if alarms is not None and not 1 <= len(alarms) <= 10:
        raise ValidationError(f"AutoRollbackConfiguration.Alarms must have 1-10 items, got {len(alarms)}.")
    policy = deployment_config.get("BlueGreenUpdatePolicy")
    if not policy:
        return
    routing = policy.get("TrafficRoutingConfiguration") or {}
    kind = routing.get("Type")
    if kind not in ROUTING_TYPES:
        raise ValidationError(
            f"TrafficRoutingConfiguration.Type {kind!r} is not one of {', '.join(ROUTING_TYPES)}."
        )
    wait = int(routing.get("WaitIntervalInSeconds", 0))
    termination = int(policy.get("TerminationWaitInSeconds", 0))
    for name, value in (("WaitIntervalInSeconds", wait), ("TerminationWaitInSeconds", termination)):
        if not 0 <= value <= MAX_WAIT:
            raise ValidationError(f"{name} must be between 0 and {MAX_WAIT}, got {value}.")
    timeout = policy.get("MaximumExecutionTimeoutInSeconds")
    if timeout is not None:
        low, high = EXECUTION_TIMEOUT
        if not low <= int(timeout) <= high:
            raise ValidationError(
                f"MaximumExecutionTimeoutInSeconds must be between {low} and {high}, got {timeout}."
            )
        if int(timeout) <= wait + termination:
            raise ValidationError(
                "MaximumExecutionTimeoutInSeconds must be larger than WaitIntervalInSeconds plus "
                f"TerminationWaitInSeconds ({wait + termination}), got {timeout}."
            )
    if kind == "CANARY":
        size = routing.get("CanarySize")
        if not size:
            raise ValidationError("CanarySize is required for a CANARY traffic routing configuration.")
        canary = _instances(size, fleet)
        if canary < 1 or canary * 2 > fleet:
            raise ValidationError(
                f"CanarySize {size} is {canary} instance(s) of a fleet of {fleet}: the canary must be at "
                "least one instance and at most 50% of the new fleet's capacity."
            )
    if kind == "LINEAR":
        size = routing.get("LinearStepSize")
        if not size:
            raise ValidationError("LinearStepSize is required for a LINEAR traffic routing configuration.")
        step = _instances(size, fleet)
        if size.get("Type") == "CAPACITY_PERCENT" and not 10 <= int(size.get("Value", 0)) <= 50:
            raise ValidationError(
                f"LinearStepSize {size}: a step must be 10-50% of the new fleet's capacity."
            )
        if step < 1 or step * 2 > fleet:
            raise ValidationError(
                f"LinearStepSize {size} is {step} instance(s) of a fleet of {fleet}: a step must be at "
                "most 50% of the new fleet's capacity."
            )


def fleet_size(config: Any) -> int:
    """The new fleet's instance count: the (single) variant's InitialInstanceCount."""
    variants = getattr(config, "production_variants", None) or []
    return sum(int(v.get("InitialInstanceCount") or 0) for v in variants) or 1
