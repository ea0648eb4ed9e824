"""Rollback alarms that watch the NEW fleet of one deployment only.

SageMaker rolls a blue/green update back when any alarm of ``AutoRollbackConfiguration`` is in ALARM
during the wait and baking periods, whichever fleet tripped it: an alarm on the whole endpoint
(``EndpointName`` + ``VariantName``) lets a failing OLD fleet roll back the hotfix meant to replace it
(https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html: alarms may
monitor "the specified fleets"; the new fleet's metrics carry its ``EndpointConfigName``). So the
deployer creates, before each ``UpdateEndpoint``, alarms on the new config's metrics (the
endpoint's real variant name, the new ``EndpointConfigName``), names them after the config, and
deletes them once the endpoint has settled (cleanup).

The thresholds are those of the stack's endpoint-wide alarms (stacks/constructs/rollback_alarms.py).
"""

from __future__ import annotations

from typing import Any

ALARM_PREFIX = "mlops-"  # the deployer's IAM allows PutMetricAlarm/DeleteAlarms on this prefix only
ERRORS_PER_MINUTE = 5
P99_LATENCY_MICROSECONDS = 2_000_000


def alarm_names(config_name: str) -> tuple[str, str]:
    """(errors, latency) alarm names of a deployer-made endpoint config."""
    return (f"{ALARM_PREFIX}{config_name}-5xx", f"{ALARM_PREFIX}{config_name}-latency")


def alarm_requests(endpoint: str, config_name: str, variant: str) -> list[dict[str, Any]]:
    """PutMetricAlarm requests for the new fleet (idempotent: same name, same definition)."""
    errors, latency = alarm_names(config_name)
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint},
        {"Name": "VariantName", "Value": variant},
        {"Name": "EndpointConfigName", "Value": config_name},
    ]
    common: dict[str, Any] = {
        "Namespace": "AWS/SageMaker",
        "Dimensions": dimensions,
        "Period": 60,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }
    return [
        {
            **common,
            "AlarmName": errors,
            "AlarmDescription": f"{endpoint}: model 5XX errors of the new fleet ({config_name}); "
            "rolls back its deployment",
            "MetricName": "Invocation5XXErrors",
            "Statistic": "Sum",
            "Threshold": ERRORS_PER_MINUTE,
            "EvaluationPeriods": 1,
        },
        {
            **common,
            "AlarmName": latency,
            "AlarmDescription": f"{endpoint}: p99 model latency of the new fleet ({config_name}); "
            "rolls back its deployment",
            "MetricName": "ModelLatency",
            "ExtendedStatistic": "p99",
            "Threshold": P99_LATENCY_MICROSECONDS,
            "EvaluationPeriods": 2,
        },
    ]
