"""Forwards state changes of this account's managed endpoints to the registry account's default bus."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

ENDPOINT_STATE_CHANGE = "SageMaker Endpoint State Change"
# Blue/green progress is a separate detail-type; subscribing to it lets the ledger follow a rollout
# without waiting for the sweep (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html).
ENDPOINT_DEPLOYMENT_STATE_CHANGE = "SageMaker Endpoint Deployment State Change"


# "Event pattern size: 2,048 characters" (default quota; adjustable):
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html. A pattern listing hundreds of
# endpoint or group names exceeds it (3,947 characters for the 200 groups of the scale test), so names are
# split over as many rules as needed, each pattern within PATTERN_BUDGET (a margin for the JSON as sent).
EVENT_PATTERN_MAX_CHARS = 2048
PATTERN_BUDGET = 1800


def name_chunks(fixed: dict[str, Any], key: str, names: Sequence[str]) -> list[list[str]]:
    """``names`` (sorted) in consecutive chunks whose pattern ``{**fixed, "detail": {key: chunk}}`` stays
    within PATTERN_BUDGET characters as JSON."""
    chunks: list[list[str]] = [[]]
    for name in sorted(names):
        candidate = [*chunks[-1], name]
        if chunks[-1] and len(json.dumps({**fixed, "detail": {key: candidate}})) > PATTERN_BUDGET:
            chunks.append([name])
        else:
            chunks[-1] = candidate
    return chunks


def endpoint_state_patterns(endpoints: Sequence[str]) -> list[events.EventPattern]:
    """Endpoint state changes of ``endpoints``: one pattern per chunk of names (see PATTERN_BUDGET)."""
    fixed = {
        "source": ["aws.sagemaker"],
        "detail-type": [ENDPOINT_STATE_CHANGE, ENDPOINT_DEPLOYMENT_STATE_CHANGE],
    }
    return [
        events.EventPattern(
            source=fixed["source"], detail_type=fixed["detail-type"], detail={"EndpointName": chunk}
        )
        for chunk in name_chunks(fixed, "EndpointName", endpoints)
    ]


def rule_id(base: str, index: int) -> str:
    """The first rule keeps its construct id (and logical id); more rules are ``<base>2``, ``<base>3``..."""
    return base if index == 0 else f"{base}{index + 1}"


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
        self.rules = [
            events.Rule(
                self,
                rule_id("Rule", index),
                description="Endpoint state changes of managed endpoints, to the central deployer",
                event_pattern=pattern,
                targets=[targets.EventBus(registry_bus)],
            )
            for index, pattern in enumerate(endpoint_state_patterns(endpoints))
        ]
