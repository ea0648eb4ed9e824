"""CloudWatch alarms that SageMaker watches during a blue/green update and that roll it back."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from stacks.constructs.names import rollback_alarm_names

VARIANT_NAME = "AllTraffic"  # the variant the deployer creates and keeps
ERRORS_PER_MINUTE = 5
P99_LATENCY_MICROSECONDS = 2_000_000


class RollbackAlarms(Construct):
    """5XX errors and p99 model latency of one endpoint. A canary with errors in ALARM rolls back."""

    def __init__(self, scope: Construct, construct_id: str, *, endpoint: str) -> None:
        super().__init__(scope, construct_id)
        errors_name, latency_name = rollback_alarm_names(endpoint)
        self.endpoint = endpoint
        self.errors = self._alarm(
            "Errors",
            errors_name,
            "model 5XX errors",
            "Invocation5XXErrors",
            "Sum",
            threshold=ERRORS_PER_MINUTE,
            periods=1,
        )
        self.latency = self._alarm(
            "Latency",
            latency_name,
            "p99 model latency",
            "ModelLatency",
            "p99",
            threshold=P99_LATENCY_MICROSECONDS,
            periods=2,
        )

    def _alarm(
        self,
        construct_id: str,
        name: str,
        what: str,
        metric_name: str,
        statistic: str,
        *,
        threshold: int,
        periods: int,
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=name,
            alarm_description=f"{self.endpoint}: {what}; rolls back an in-progress deployment",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name=metric_name,
                dimensions_map={"EndpointName": self.endpoint, "VariantName": VARIANT_NAME},
                statistic=statistic,
                period=Duration.minutes(1),
            ),
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
