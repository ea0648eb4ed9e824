"""EventBridge rules that ask the deployer to look again, and the bus policy that admits serving accounts."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.constructs.event_forwarding import endpoint_state_patterns, name_chunks, rule_id

MODEL_PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"


class DeploymentTriggers(Construct):
    """Three triggers, one queue: model package state changes of managed groups, endpoint state changes
    of managed endpoints (local or forwarded), and a periodic sweep that catches anything lost."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        queue: sqs.IQueue,
        groups: Sequence[str],
        endpoints: Sequence[str],
        serving_accounts: Sequence[str],
        organization_id: str | None,
        sweep_minutes: int = 10,
    ) -> None:
        super().__init__(scope, construct_id)
        target = targets.SqsQueue(queue)
        # Only this registry's own versions: a model package event forwarded from another account (a
        # serving account may put events on this bus) keeps its own 'account'.
        fixed = {
            "source": ["aws.sagemaker"],
            "account": [Stack.of(self).account],
            "detail-type": [MODEL_PACKAGE_STATE_CHANGE],
        }
        self.model_package_rules = [
            events.Rule(
                self,
                rule_id("ModelPackageStateChange", index),
                description="Approval, rejection or stage change of a version in a managed group",
                event_pattern=events.EventPattern(
                    source=fixed["source"],
                    account=fixed["account"],
                    detail_type=fixed["detail-type"],
                    detail={"ModelPackageGroupName": chunk},
                ),
                targets=[target],
            )
            for index, chunk in enumerate(name_chunks(fixed, "ModelPackageGroupName", groups))
        ]
        self.endpoint_rules = [
            events.Rule(
                self,
                rule_id("EndpointStateChange", index),
                description="A managed endpoint finished, failed or rolled back an update",
                event_pattern=pattern,
                targets=[target],
            )
            for index, pattern in enumerate(endpoint_state_patterns(endpoints))
        ]
        self.sweep_rule = events.Rule(
            self,
            "Sweep",
            description="Periodic reconcile of every managed endpoint (safety net for lost events)",
            schedule=events.Schedule.rate(Duration.minutes(sweep_minutes)),
            targets=[target],
        )
        # Who may forward endpoint events to this bus. With an organization id: one statement for the whole
        # organization, constant in size (EventBridge's documented form, Principal "*" + aws:PrincipalOrgID:
        # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html); without one, a
        # statement per serving account.
        stack = Stack.of(self)
        admitted: list[tuple[str, str]] = []  # (construct id suffix, principal)
        if organization_id and serving_accounts:
            admitted.append(("Organization", "*"))
        elif not organization_id:
            admitted.extend((account, account) for account in sorted(set(serving_accounts)))
        for suffix, principal in admitted:
            statement: dict[str, object] = {
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": "events:PutEvents",
                "Resource": stack.format_arn(service="events", resource="event-bus", resource_name="default"),
            }
            if organization_id:
                statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": organization_id}}
            events.CfnEventBusPolicy(
                self,
                f"Admit{suffix}",
                event_bus_name="default",
                statement_id=f"mlops-forward-endpoint-events-{suffix.lower()}",
                statement=statement,
            )
