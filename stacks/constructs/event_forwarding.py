"""Forwards state changes of this account's managed endpoints to the registry account's default bus."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"
# Blue/green progress is a separate detail-type; subscribing to it lets the ledger follow a rollout
# without waiting for the sweep (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html).
ENDPOINT_DEPLOYMENT_STATE_CHANGE = "SageMaker Endpoint Deployment State Change"


def endpoint_state_pattern(endpoints: Sequence[str]) -> events.EventPattern:
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=[ENDPOINT_STATE_CHANGE, ENDPOINT_DEPLOYMENT_STATE_CHANGE],
        detail={"EndpointName": sorted(endpoints)},
    )


class EndpointEventForwarding(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoints: Sequence[str],
        registry_account: str,
        registry_region: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        registry_bus = events.EventBus.from_event_bus_arn(
            self,
            "RegistryBus",
            stack.format_arn(
                service="events",
                account=registry_account,
                region=registry_region,
                resource="event-bus",
                resource_name="default",
            ),
        )
        self.rule = events.Rule(
            self,
            "Rule",
            description="Endpoint state changes of managed endpoints, to the central deployer",
            event_pattern=endpoint_state_pattern(endpoints),
            targets=[targets.EventBus(registry_bus)],
        )
