"""The append-only deployment ledger (DESIGN section 4)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from stacks.constructs.names import LEDGER_TABLE_NAME


class DeploymentLedger(Construct):
    """One item per deployment transition. Partition `endpoint_id` (`<account>/<region>/<endpoint>`), sort
    `at` (ISO-8601 UTC): "which version served X at T" is one Query, newest item at or before T."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.TableV2(
            self,
            "Table",
            table_name=LEDGER_TABLE_NAME,
            partition_key=dynamodb.Attribute(name="endpoint_id", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="at", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,  # the audit trail outlives the stack
        )
