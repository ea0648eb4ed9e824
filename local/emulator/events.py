"""Service events on the default EventBridge bus, and two delivery fixes for moto's EventBridge.

- :func:`emit` puts an event with ``source: aws.sagemaker`` on the default bus of the resource's
  own account and region, as SageMaker does (rules on that bus then deliver it);
- moto's default SQS/CloudWatch Logs input template drops ``account``: the patched template keeps it;
- moto re-puts events forwarded to another account's bus (new id, ``account`` rewritten,
  ``resources`` dropped): the patched forwarding hands the original event to the target bus's rules,
  as EventBridge does, once the target bus's resource policy admits the sending account.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from moto.events import models as events_models
from moto.events.models import events_backends
from moto.events.utils import EventTemplateParser
from moto.utilities.arns import parse_arn

SAGEMAKER_SOURCE = "aws.sagemaker"

_original_send_to_targets = events_models.Rule.send_to_targets


def emit(
    account_id: str,
    region: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str],
    source: str = SAGEMAKER_SOURCE,
) -> None:
    """Put one service event on ``account_id``/``region``'s default bus."""
    backend = events_backends[account_id][region]
    backend.put_events(
        [
            {
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, default=str),
                "Resources": list(resources),
            }
        ]
    )


def _bus_admits(policy_json: str | None, sender_account: str) -> bool:
    """Does a bus resource policy allow ``sender_account`` to put events? (Allow statements only.)"""
    if not policy_json:
        return False
    statements = json.loads(policy_json).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        actions = st.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("events:PutEvents", "events:*", "*") for a in actions):
            continue
        principal = st.get("Principal", {})
        if principal == "*":
            return True  # conditions (e.g. aws:PrincipalOrgID) are not evaluated
        aws = principal.get("AWS", []) if isinstance(principal, dict) else []
        aws = [aws] if isinstance(aws, str) else aws
        for p in aws:
            if p == "*" or p == sender_account or p.split(":")[4:5] == [sender_account]:
                return True
    return False


def _send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    if not self.event_pattern.matches_event(original_event):
        return
    for target in self.targets:
        arn = parse_arn(target["Arn"])
        if arn.service == "events" and arn.resource_type == "event-bus":
            _forward(self, original_event, arn)
        else:
            single = copy.copy(self)
            single.targets = [target]
            _original_send_to_targets(single, original_event, transform_input)


def _forward(rule: Any, event: Any, arn: Any) -> None:
    backend = events_backends[arn.account][arn.region]
    try:
        bus = backend.describe_event_bus(arn.resource_id)
    except Exception:  # noqa: BLE001 - a missing target bus drops the event, as in AWS
        return
    if arn.account != rule.account_id and not _bus_admits(bus.policy, rule.account_id):
        return
    for target_rule in list(bus.rules.values()):
        target_rule.send_to_targets(copy.deepcopy(event))


def install() -> None:
    EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = (
        '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
        '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
        '"detail": <detail>}'
    )
    events_models.Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign]
