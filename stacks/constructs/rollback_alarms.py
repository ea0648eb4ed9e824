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
        dimensions = {"EndpointName": endpoint, "VariantName": VARIANT_NAME}
        self.errors = cloudwatch.Alarm(
            self,
            "Errors",
            alarm_name=errors_name,
            alarm_description=f"{endpoint}: model 5XX errors; rolls back an in-progress deployment",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="Invocation5XXErrors",
                dimensions_map=dimensions,
                statistic="Sum",
                period=Duration.minutes(1),
            ),
            threshold=ERRORS_PER_MINUTE,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.latency = cloudwatch.Alarm(
            self,
            "Latency",
            alarm_name=latency_name,
            alarm_description=f"{endpoint}: p99 model latency; rolls back an in-progress deployment",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="ModelLatency",
                dimensions_map=dimensions,
                statistic="p99",
                period=Duration.minutes(1),
            ),
            threshold=P99_LATENCY_MICROSECONDS,
            evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
