"""Typed triggers parsed from EventBridge events (the SQS message bodies of docs/contracts.md).

A trigger means "look again", never "do exactly this": the models keep only what routing and the
ledger need. Anything else raises ``MalformedEvent`` with a reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from deployer.admission import canonical_spec
from deployer.errors import MalformedEvent

MODEL_PACKAGE_CHANGE = "SageMaker Model Package State Change"
ENDPOINT_CHANGE = "SageMaker Endpoint State Change"
# Blue/green progress (stages of a canary/linear/all-at-once update), a separate detail-type, checked
# against "SageMaker endpoint deployment state change" in
# https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-deployment-state
# Its detail carries EndpointName, EndpointArn, EndpointConfigName (the config in service),
# ProductionVariants (VariantName, CurrentWeight, DesiredWeight, CurrentInstanceCount,
# DesiredInstanceCount, VariantStatus), EndpointStatus (upper case there: "UPDATING"), CreationTime and
# LastModifiedTime (epoch milliseconds), Tags and, during a blue/green update, PendingDeploymentSummary
# (the new EndpointConfigName, StartTime, ProductionVariants). So the rules match it on
# detail.EndpointName like the endpoint state change; the deployer reads only the endpoint's name and
# ARN from it and describes the endpoint itself (its status here is neither trusted nor needed).
ENDPOINT_DEPLOYMENT_CHANGE = "SageMaker Endpoint Deployment State Change"
SCHEDULED = "Scheduled Event"
# The sweep fans out: one message per managed endpoint, sent by the deployer to its own queue.
DEPLOYER_SOURCE = "mlops.deployer"
RECONCILE_ENDPOINT = "Reconcile Endpoint"


@dataclass(frozen=True)
class ModelPackageChange:
    event_id: str
    time: datetime | None
    group: str
    package_arn: str
    version: int | None
    approval_status: str | None
    stage: str | None
    has_inference_spec: bool | None  # None: the event does not describe the package fully
    approved_by: str | None
    approval_description: str | None
    stage_status: str | None = None
    # the event's InferenceSpecification as canonical JSON (what was approved, when the event approves)
    inference_specification: str | None = None

    @property
    def package_account(self) -> str:
        """The account in the version's ARN (the registry that owns it)."""
        parts = self.package_arn.split(":")
        return parts[4] if len(parts) > 5 else ""


@dataclass(frozen=True)
class EndpointChange:
    event_id: str
    time: datetime | None
    endpoint: str
    account: str | None
    region: str | None
    status: str | None


@dataclass(frozen=True)
class Sweep:
    event_id: str
    time: datetime | None


Trigger = ModelPackageChange | EndpointChange | Sweep


@dataclass(frozen=True)
class Message:
    """One SQS record: its id (for partial batch failures) and the trigger or the parse error."""

    message_id: str
    trigger: Trigger | None
    error: MalformedEvent | None = None


def parse_sqs_event(event: Any) -> list[Message]:
    """Split a Lambda SQS event into messages; a bad record becomes a Message with ``error``."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise MalformedEvent("not an SQS event: no 'Records' list")
    messages = []
    for index, record in enumerate(records):
        message_id = (
            str(record.get("messageId") or f"record-{index}")
            if isinstance(record, dict)
            else f"record-{index}"
        )
        try:
            if not isinstance(record, dict) or not isinstance(record.get("body"), str):
                raise MalformedEvent("SQS record without a string 'body'")
            try:
                body = json.loads(record["body"])
            except json.JSONDecodeError as exc:
                raise MalformedEvent(f"SQS body is not JSON: {exc.msg} at position {exc.pos}") from exc
            messages.append(Message(message_id, parse_event(body)))
        except MalformedEvent as exc:
            messages.append(Message(message_id, None, exc))
    return messages


def parse_event(event: Any) -> Trigger:
    if not isinstance(event, dict):
        raise MalformedEvent(f"event is a {type(event).__name__}, expected a JSON object")
    detail_type = event.get("detail-type")
    source = event.get("source")
    event_id = str(event.get("id") or "")
    time = _parse_time(event.get("time"))
    detail = event.get("detail")
    if detail_type == SCHEDULED and source == "aws.events":
        return Sweep(event_id=event_id, time=time)
    if detail_type == RECONCILE_ENDPOINT and source == DEPLOYER_SOURCE and isinstance(detail, dict):
        return _endpoint_change(event_id, time, event, detail)
    if source != "aws.sagemaker":
        raise MalformedEvent(f"unexpected event source {source!r} / detail-type {detail_type!r}")
    if not isinstance(detail, dict):
        raise MalformedEvent(f"{detail_type!r} event {event_id!r} has no 'detail' object")
    if detail_type == MODEL_PACKAGE_CHANGE:
        return _package_change(event_id, time, detail)
    if detail_type in (ENDPOINT_CHANGE, ENDPOINT_DEPLOYMENT_CHANGE):
        return _endpoint_change(event_id, time, event, detail)
    raise MalformedEvent(f"unexpected detail-type {detail_type!r}")


def _package_change(event_id: str, time: datetime | None, detail: dict[str, Any]) -> ModelPackageChange:
    arn = detail.get("ModelPackageArn")
    if not isinstance(arn, str) or ":model-package/" not in arn:
        raise MalformedEvent(
            f"model package event {event_id!r}: detail.ModelPackageArn missing or not an ARN"
        )
    group = detail.get("ModelPackageGroupName")
    if not isinstance(group, str) or not group:
        # Versioned packages carry the group in their ARN: .../model-package/<group>/<version>
        parts = arn.split(":model-package/", 1)[1].split("/")
        if len(parts) != 2:
            raise MalformedEvent(f"model package event {event_id!r}: no ModelPackageGroupName")
        group = parts[0]
    version = detail.get("ModelPackageVersion")
    if not isinstance(version, int | float) or isinstance(version, bool):
        tail = arn.rsplit("/", 1)[-1]
        version = int(tail) if tail.isdigit() else None
    lifecycle = detail.get("ModelLifeCycle")
    stage = lifecycle.get("Stage") if isinstance(lifecycle, dict) else None
    approved_by, approval_description = audit_fields(detail)
    stage_status = lifecycle.get("StageStatus") if isinstance(lifecycle, dict) else None
    return ModelPackageChange(
        event_id=event_id,
        time=time,
        group=group,
        package_arn=arn,
        version=int(version) if version is not None else None,
        approval_status=detail.get("ModelApprovalStatus"),
        stage=stage if isinstance(stage, str) else None,
        has_inference_spec=(
            True
            if isinstance(detail.get("InferenceSpecification"), dict)
            else (False if "ModelPackageStatus" in detail else None)
        ),
        approved_by=approved_by,
        approval_description=approval_description,
        stage_status=stage_status if isinstance(stage_status, str) else None,
        inference_specification=(
            canonical_spec(detail["InferenceSpecification"])
            if isinstance(detail.get("InferenceSpecification"), dict)
            else None
        ),
    )


def audit_fields(source: dict[str, Any]) -> tuple[str | None, str | None]:
    """(approved by, approval description) from a model package description or event detail.

    The documented model-package event carries neither; DescribeModelPackage does
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeModelPackage.html:
    LastModifiedBy is a UserContext with UserProfileName and IamIdentity.Arn).
    """
    modified_by = source.get("LastModifiedBy")
    approved_by = None
    if isinstance(modified_by, dict):
        identity = modified_by.get("IamIdentity")
        approved_by = modified_by.get("UserProfileName") or (
            identity.get("Arn") if isinstance(identity, dict) else None
        )
    return _str(approved_by), _str(source.get("ApprovalDescription"))


def _endpoint_change(
    event_id: str, time: datetime | None, event: dict[str, Any], detail: dict[str, Any]
) -> EndpointChange:
    arn = detail.get("EndpointArn")
    resources = event.get("resources")
    if not isinstance(arn, str) and isinstance(resources, list) and resources:
        arn = resources[0]  # the deployment event names its endpoint in 'resources'
    name = detail.get("EndpointName")
    if (not isinstance(name, str) or not name) and isinstance(arn, str) and ":endpoint/" in arn:
        name = arn.split(":endpoint/", 1)[1]
    if not isinstance(name, str) or not name:
        raise MalformedEvent(f"endpoint event {event_id!r}: detail.EndpointName missing")
    # The endpoint's own ARN names its account and region even when the event was forwarded
    # to another bus (which may rewrite 'account'); fall back to the envelope.
    account, region = _str(event.get("account")), _str(event.get("region"))
    if isinstance(arn, str) and arn.count(":") >= 5:
        parts = arn.split(":")
        region, account = parts[3] or region, parts[4] or account
    return EndpointChange(
        event_id=event_id,
        time=time,
        endpoint=name,
        account=account,
        region=region,
        status=_str(detail.get("EndpointStatus")),
    )


def _parse_time(value: Any) -> datetime | None:
    """EventBridge 'time' is ISO-8601; some SageMaker examples carry epoch milliseconds."""
    if isinstance(value, str) and value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_lambda_event(event: Any) -> list[Message]:
    """An SQS batch (the deployed wiring) or one bare EventBridge event (direct invocation)."""
    if isinstance(event, dict) and "Records" not in event and "detail-type" in event:
        message_id = str(event.get("id") or "event")
        try:
            return [Message(message_id, parse_event(event))]
        except MalformedEvent as exc:
            return [Message(message_id, None, exc)]
    return parse_sqs_event(event)


def reconcile_message(endpoint_id: str, sweep: Sweep) -> dict[str, Any]:
    """The event the sweep sends for one endpoint (``<account>/<region>/<endpoint>``)."""
    account, region, name = endpoint_id.split("/", 2)
    return {
        "version": "0",
        "id": f"{sweep.event_id}/{endpoint_id}",
        "detail-type": RECONCILE_ENDPOINT,
        "source": DEPLOYER_SOURCE,
        "account": account,
        "region": region,
        "time": sweep.time.isoformat() if sweep.time else None,
        "resources": [],
        "detail": {"EndpointName": name},
    }
