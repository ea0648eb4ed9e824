"""Orchestration: route each trigger to the endpoints it concerns, reconcile them, record, notify.

Error policy (the handler turns it into SQS partial batch failures):
- transient (throttling/5xx/network after the client's own retries, or an unexpected bug): the
  message is reported failed, SQS redelivers it and after maxReceiveCount it lands in the DLQ;
- permanent (malformed event, unknown group or endpoint, invalid deployment config, AWS refusing
  a call): logged with the reason, recorded in the ledger where there is an endpoint, notified,
  and the message is acknowledged, so nothing crash-loops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from deployer import admission, controller
from deployer.errors import EndpointBusy, MalformedEvent, PermanentError, QuotaExceeded, TransientError
from deployer.events import (
    EndpointChange,
    Message,
    ModelPackageChange,
    Sweep,
    Trigger,
    audit_fields,
    reconcile_message,
)
from deployer.ledger import ApprovalPin, ApprovalPins, Ledger
from deployer.models import DELETED, FAILED, SKIPPED, Decision, EndpointView, LedgerEntry
from deployer.notifier import Notifier
from deployer.sagemaker_gateway import Gateway, translate
from deployer.settings import Deployment, InvalidDeployment, RetiredEndpoint, Settings

log = logging.getLogger(__name__)

# Reason prefix of an autoscaling minimum Application Auto Scaling refused.
REFUSED_SCALING = "config change: AWS refused the autoscaling minimum"
# Reason prefix of a version the admission checks refused (deployer.admission).
ADMISSION_REFUSED = "admission refused"
# Stop starting new work when less than this is left of the invocation; the rest is redelivered.
SAFETY_MARGIN_MS = 15_000


class DeployerService:
    def __init__(
        self,
        settings: Settings,
        gateway: Gateway,
        ledger: Ledger,
        notifier: Notifier,
        fan_out: Callable[[list[dict[str, Any]]], None] | None = None,
        pins: ApprovalPins | None = None,
    ) -> None:
        self.settings = settings
        # What each version was approved as (admission.changed_since_approval); the Lambda always has
        # it (deployer.wiring); without it (unit tests of other concerns) nothing is pinned.
        self.pins = pins
        # pins never change once written (the oldest item wins), so a warm container reads each once
        self._pinned: dict[str, ApprovalPin] = {}
        self.gateway = gateway
        self.ledger = ledger
        self.notifier = notifier
        # Sends events to the deployer's own queue. With it, a sweep reconciles nothing itself: it
        # sends one "Reconcile Endpoint" message per endpoint, so each invocation stays short
        # whatever the number of endpoints. Without it (tests, direct runs) the sweep works inline.
        self.fan_out = fan_out

    # --- batch ---------------------------------------------------------------------------------

    def handle(self, messages: list[Message], remaining_ms: Callable[[], int] | None = None) -> list[str]:
        """Process a batch; returns the message ids to report as failed (to be retried)."""
        failed: list[str] = []
        for message in messages:
            if remaining_ms is not None and remaining_ms() < SAFETY_MARGIN_MS:
                log.warning(  # pragma: no mutate
                    "out of time; message left for redelivery",  # pragma: no mutate
                    extra={"message_id": message.message_id},  # pragma: no mutate
                )  # pragma: no mutate
                failed.append(message.message_id)
                continue
            try:
                self.handle_message(message)
            except Exception as exc:  # transient or unexpected: retry, then DLQ
                log.exception(  # pragma: no mutate
                    "message failed; SQS will redeliver it",  # pragma: no mutate
                    extra={  # pragma: no mutate
                        "message_id": message.message_id,  # pragma: no mutate
                        "reason": getattr(exc, "reason", str(exc)),  # pragma: no mutate
                    },  # pragma: no mutate
                )  # pragma: no mutate
                failed.append(message.message_id)
        return failed

    def handle_message(self, message: Message) -> None:
        if message.error is not None or message.trigger is None:
            error = message.error or MalformedEvent("empty message")
            log.error(  # pragma: no mutate
                "malformed event acknowledged",  # pragma: no mutate
                extra={"message_id": message.message_id, "reason": error.reason},  # pragma: no mutate
            )  # pragma: no mutate
            self.notifier.problem("malformed deployer event", error.reason, message_id=message.message_id)
            return
        self.handle_trigger(message.trigger)

    def handle_trigger(self, trigger: Trigger) -> list[Decision]:
        """Reconcile every endpoint the trigger concerns. Raises only for transient trouble."""
        if (
            isinstance(trigger, ModelPackageChange)
            and trigger.package_account != self.settings.registry_account
        ):
            # Not a version of this registry (the rule matches only the registry account's events; this
            # is the second line): ignored, logged, no ledger entry and no notification.
            log.warning(  # pragma: no mutate
                "foreign model package event ignored",  # pragma: no mutate
                extra={"event_id": trigger.event_id, "package_arn": trigger.package_arn},  # pragma: no mutate
            )  # pragma: no mutate
            return []
        deployments, invalid, problem = self.route(trigger)
        if isinstance(trigger, ModelPackageChange) and trigger.approval_status == "Approved" and deployments:
            self._pin_approval(
                deployments[0], trigger.package_arn, trigger.inference_specification, trigger.event_id
            )
        for entry in invalid:
            self.record_invalid(entry, trigger)
        if isinstance(trigger, Sweep):
            self.retire_all(trigger)
        if isinstance(trigger, Sweep) and self.fan_out is not None and deployments:
            self.fan_out([reconcile_message(d.endpoint_id, trigger) for d in deployments])
            return []
        if problem is not None:
            log.warning(  # pragma: no mutate
                "event for nothing this deployer manages",  # pragma: no mutate
                extra={"reason": problem, "event_id": trigger.event_id},  # pragma: no mutate
            )  # pragma: no mutate
            self.notifier.problem("event for an unmanaged resource", problem, event_id=trigger.event_id)
        errors: list[Exception] = []
        decisions = []
        for deployment in deployments:
            try:
                decisions.append(self.reconcile(deployment, trigger))
            except Exception as exc:  # one endpoint's trouble must not starve the others
                errors.append(exc)
        if errors:
            raise errors[0]
        return decisions

    def route(
        self, trigger: Trigger
    ) -> tuple[tuple[Deployment, ...], tuple[InvalidDeployment, ...], str | None]:
        settings = self.settings
        if isinstance(trigger, Sweep):
            return settings.deployments, tuple(i for i in settings.invalid if i.endpoint_id), None
        if isinstance(trigger, ModelPackageChange):
            found, invalid = settings.for_group(trigger.group), settings.invalid_for_group(trigger.group)
            problem = None if found or invalid else f"unknown model package group {trigger.group!r}"
            return found, invalid, problem
        assert isinstance(trigger, EndpointChange)
        found = settings.for_endpoint(trigger.endpoint, trigger.account, trigger.region)
        invalid = settings.invalid_for_endpoint(trigger.endpoint)
        where = f"{trigger.account or '?'}/{trigger.region or '?'}/{trigger.endpoint}"
        return found, invalid, None if found or invalid else f"unknown endpoint {where!r}"

    # --- retired endpoints (config `retired`) ---------------------------------------------------

    def retire_all(self, trigger: Sweep) -> None:
        """At every sweep: delete the retired endpoints whose config says ``on_remove: delete``."""
        for retired in self.settings.retired:
            if retired.on_remove != "delete":
                continue  # keep: left running, no longer managed (`mlops status` lists it)
            try:
                self.retire(retired, trigger)
            except PermanentError as exc:
                log.error("retired endpoint not deleted", extra={"endpoint_id": retired.endpoint_id})
                recent = self._ledger_call(self.ledger.recent, retired.endpoint_id, 1)
                reason = f"retired (on_remove: delete) but not deleted: {exc.reason}"
                if not recent or (recent[0].status, recent[0].reason) != (FAILED, reason):
                    self._write(self._retired_entry(retired, FAILED, reason, recent, trigger))

    def retire(self, retired: RetiredEndpoint, trigger: Sweep) -> None:
        outcome = self.gateway.delete_retired(retired)
        if outcome != "deleted":
            return
        recent = self._ledger_call(self.ledger.recent, retired.endpoint_id, 1)
        reason = "retired in the config with on_remove: delete; DeleteEndpoint accepted"
        self._write(self._retired_entry(retired, DELETED, reason, recent, trigger))

    @staticmethod
    def _retired_entry(
        retired: RetiredEndpoint, status: str, reason: str, recent: list[LedgerEntry], trigger: Sweep
    ) -> LedgerEntry:
        previous = recent[0] if recent else None
        return LedgerEntry(
            status=status,
            endpoint=retired.endpoint,
            account=retired.account,
            region=retired.region,
            group=previous.group if previous else "",
            previous_package_arn=previous.serving_package_arn if previous else None,
            previous_version=previous.serving_version if previous else None,
            serving_package_arn=previous.serving_package_arn if previous and status == FAILED else None,
            serving_version=previous.serving_version if previous and status == FAILED else None,
            reason=reason,
            event_id=trigger.event_id,
        )

    # --- one endpoint --------------------------------------------------------------------------

    def reconcile(self, deployment: Deployment, trigger: Trigger | None = None) -> Decision:
        recent = self._ledger_call(self.ledger.recent, deployment.endpoint_id)
        try:
            endpoint = self.gateway.describe_endpoint(deployment)
            matching = controller.matching_since(
                self.gateway.iter_packages(deployment),
                deployment.follows,
                controller.serving_version(deployment, endpoint),
            )
        except PermanentError as exc:
            self._record_read_failure(deployment, recent, exc.reason, trigger)
            return Decision(reason=exc.reason)
        desired = matching[0] if matching else None
        decision = controller.decide(deployment, desired, endpoint, recent, trigger, skipped=matching[1:])
        audited = self._with_audit_fields(deployment, trigger, decision)
        if audited is not trigger:
            trigger = audited
            decision = controller.decide(deployment, desired, endpoint, recent, trigger, skipped=matching[1:])
        log.info(  # pragma: no mutate
            "reconciled",  # pragma: no mutate
            extra={  # pragma: no mutate
                "endpoint_id": deployment.endpoint_id,  # pragma: no mutate
                "desired_version": desired.version if desired else None,  # pragma: no mutate
                "endpoint_status": endpoint.status,  # pragma: no mutate
                "endpoint_config": endpoint.config_name,  # pragma: no mutate
                "decision": decision.reason,  # pragma: no mutate
                "event_id": trigger.event_id if trigger else None,  # pragma: no mutate
            },  # pragma: no mutate
        )  # pragma: no mutate
        for record in decision.records:
            self._write(record)
        if decision.deploy is not None:
            self._deploy(deployment, decision, recent)
        elif decision.scaling is not None:
            self._scale(deployment, decision, endpoint, recent)
        if decision.cleanup_keep:
            deleted = self.gateway.cleanup(deployment, decision.cleanup_keep)
            if deleted:
                log.info(  # pragma: no mutate
                    "cleaned up",  # pragma: no mutate
                    extra={"endpoint_id": deployment.endpoint_id, "deleted": deleted},  # pragma: no mutate
                )  # pragma: no mutate
        return decision

    def _with_audit_fields(
        self, deployment: Deployment, trigger: Trigger | None, decision: Decision
    ) -> Trigger | None:
        """The trigger with the approval audit fields read by DescribeModelPackage, when the event
        lacks them (the documented event carries neither) and the decision records that package.
        Only then: a duplicate event that writes nothing costs no extra call."""
        if (
            not isinstance(trigger, ModelPackageChange)
            or trigger.approved_by is not None
            or trigger.approval_description is not None
        ):
            return trigger
        written = (*decision.records, *((decision.started,) if decision.started else ()))
        if not any(r.model_package_arn == trigger.package_arn for r in written):
            return trigger
        try:
            description = self.gateway.describe_package(deployment, trigger.package_arn)
        except PermanentError as exc:
            log.warning(  # pragma: no mutate
                "approval audit fields unavailable",  # pragma: no mutate
                extra={"reason": exc.reason},  # pragma: no mutate
            )  # pragma: no mutate
            return trigger
        approved_by, approval_description = audit_fields(description)
        return replace(trigger, approved_by=approved_by, approval_description=approval_description)

    def _deploy(self, deployment: Deployment, decision: Decision, recent: list[LedgerEntry]) -> None:
        assert decision.deploy is not None and decision.started is not None
        if self._refused_admission(deployment, decision):
            return
        try:
            self.gateway.deploy(deployment, decision.deploy)
        except QuotaExceeded as exc:
            self._defer(decision, recent, exc.reason)
            return
        except EndpointBusy as exc:
            # Another invocation got there first; the endpoint's state change brings us back.
            log.info(  # pragma: no mutate
                "endpoint busy; will look again",  # pragma: no mutate
                extra={"endpoint_id": deployment.endpoint_id, "reason": exc.reason},  # pragma: no mutate
            )  # pragma: no mutate
            return
        except PermanentError as exc:
            self._write(controller.failed_start(decision, exc.reason))
            return
        self._write(decision.started)

    def _scale(
        self, deployment: Deployment, decision: Decision, endpoint: EndpointView, recent: list[LedgerEntry]
    ) -> None:
        """A count change of an autoscaled variant: the new autoscaling minimum, then the ledger item."""
        assert decision.scaling is not None and decision.started is not None
        try:
            self.gateway.update_scaling(deployment, endpoint.variant_name or "AllTraffic", decision.scaling)
        except PermanentError as exc:
            entry = replace(decision.started, status=FAILED, reason=f"{REFUSED_SCALING}: {exc.reason}")
            if not recent or (recent[0].status, recent[0].reason) != (entry.status, entry.reason):
                self._write(entry)  # once, not at every look
            return
        self._write(decision.started)

    def _pin_approval(
        self, deployment: Deployment, package_arn: str, specification: str | None, event_id: str | None
    ) -> ApprovalPin | None:
        """Record what ``package_arn`` runs as its approved specification, unless a pin exists (first
        write wins). ``specification``: the approval event's own copy (canonical JSON), else described."""
        if self.pins is None:
            return None
        pinned: ApprovalPin | None = self._pinned.get(package_arn) or self._ledger_call(
            self.pins.get, package_arn
        )
        if pinned is not None:
            self._pinned[package_arn] = pinned
            return pinned
        if specification is None:
            try:
                described = self.gateway.describe_package(deployment, package_arn)
            except PermanentError as exc:
                log.warning(  # pragma: no mutate
                    "approved specification not pinned",  # pragma: no mutate
                    extra={"reason": exc.reason},  # pragma: no mutate
                )  # pragma: no mutate
                return None
            if described.get("ModelApprovalStatus") != "Approved":
                return None
            specification = admission.canonical_spec(described.get("InferenceSpecification"))
        pin: ApprovalPin = self._ledger_call(
            self.pins.record, package_arn, specification, admission.fingerprint(specification), event_id
        )
        self._pinned[package_arn] = pin
        log.info(  # pragma: no mutate
            "approved specification pinned",  # pragma: no mutate
            extra={"package_arn": package_arn, "fingerprint": pin.fingerprint},  # pragma: no mutate
        )  # pragma: no mutate
        return pin

    def _refused_admission(self, deployment: Deployment, decision: Decision) -> bool:
        """What the version runs (image, model data) against the deployment's admission rules and against
        what it was approved as: a refusal is a ``failed`` item (notified; the version is not retried)
        and nothing is deployed."""
        if deployment.admission is None and self.pins is None:
            return False
        assert decision.deploy is not None and decision.started is not None
        package = decision.deploy.package
        try:
            described = self.gateway.describe_package(deployment, package.arn)
        except PermanentError as exc:
            self._write(controller.failed_start(decision, exc.reason))
            return True
        specification = described.get("InferenceSpecification")
        reason = None
        if deployment.admission is not None:
            reason = admission.refusal(specification, deployment.admission)
        if reason is None and self.pins is not None:
            # a version approved before pins existed (or whose approval event was lost) is pinned now
            pin = self._pin_approval(deployment, package.arn, admission.canonical_spec(specification), None)
            if pin is not None:
                reason = admission.changed_since_approval(pin.inference_specification, specification)
        if reason is None:
            return False
        log.error(  # pragma: no mutate
            "version refused by admission",  # pragma: no mutate
            extra={"endpoint_id": deployment.endpoint_id, "reason": reason},  # pragma: no mutate
        )  # pragma: no mutate
        self._write(
            replace(
                decision.started,
                status=FAILED,
                reason=f"{ADMISSION_REFUSED} version {package.version}: {reason}",
            )
        )
        return True

    def _defer(self, decision: Decision, recent: list[LedgerEntry], reason: str) -> None:
        """A quota stopped the deployment: record and notify once (a ``skipped`` item, which blocks
        nothing), acknowledge, and let the next look (endpoint event or sweep) try again."""
        assert decision.started is not None
        entry = replace(
            decision.started,
            status=SKIPPED,
            reason=f"deferred, retried at the next look (sweep or event): {reason}",
        )
        latest = recent[0] if recent else None
        if latest is not None and (latest.status, latest.model_package_arn, latest.reason) == (
            entry.status,
            entry.model_package_arn,
            entry.reason,
        ):
            log.info(  # pragma: no mutate
                "deployment still deferred",  # pragma: no mutate
                extra={"endpoint_id": entry.endpoint, "reason": reason},  # pragma: no mutate
            )  # pragma: no mutate
            return
        self._write(entry)

    def _write(self, entry: LedgerEntry) -> LedgerEntry:
        stored = self._ledger_call(self.ledger.append, entry)
        log.info(  # pragma: no mutate
            "ledger",  # pragma: no mutate
            extra={  # pragma: no mutate
                "endpoint_id": stored.endpoint_id,  # pragma: no mutate
                "status": stored.status,  # pragma: no mutate
                "version": stored.version,  # pragma: no mutate
                "reason": stored.reason,  # pragma: no mutate
            },  # pragma: no mutate
        )  # pragma: no mutate
        self.notifier.transition(stored)
        return stored

    def _ledger_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            translated = translate(exc, "ledger")
            # The ledger is where permanent problems are recorded: if it refuses, nothing can be
            # recorded, so the message goes back to SQS (and finally the DLQ with its alarm).
            raise (
                TransientError(translated.reason) if isinstance(translated, PermanentError) else translated
            ) from exc

    def _record_read_failure(
        self, deployment: Deployment, recent: list[LedgerEntry], reason: str, trigger: Trigger | None
    ) -> None:
        log.error(  # pragma: no mutate
            "cannot read SageMaker state",  # pragma: no mutate
            extra={"endpoint_id": deployment.endpoint_id, "reason": reason},  # pragma: no mutate
        )  # pragma: no mutate
        entry = LedgerEntry(
            status=FAILED,
            endpoint=deployment.endpoint,
            account=deployment.account,
            region=deployment.region,
            group=deployment.group,
            serving_package_arn=recent[0].serving_package_arn if recent else None,
            serving_version=recent[0].serving_version if recent else None,
            rollout=deployment.rollout.as_dict(),
            reason=f"cannot read SageMaker state: {reason}",
            event_id=trigger.event_id if trigger else None,
        )
        if not recent or (recent[0].status, recent[0].reason) != (entry.status, entry.reason):
            self._write(entry)

    def record_invalid(self, invalid: InvalidDeployment, trigger: Trigger) -> None:
        """A misconfigured deployment: ledger (once, where it has an endpoint identity) and notify."""
        log.error(  # pragma: no mutate
            "misconfigured deployment",  # pragma: no mutate
            extra={"index": invalid.index, "reason": invalid.reason},  # pragma: no mutate
        )  # pragma: no mutate
        key = invalid.endpoint_id
        if key is None or invalid.endpoint is None or invalid.account is None or invalid.region is None:
            if not isinstance(trigger, Sweep):
                self.notifier.problem("misconfigured deployment", invalid.reason, index=invalid.index)
            return
        recent = self._ledger_call(self.ledger.recent, key, 1)
        reason = f"deployment misconfigured: {invalid.reason}"
        if recent and recent[0].status == FAILED and recent[0].reason == reason:
            return
        previous = recent[0] if recent else None
        entry = LedgerEntry(
            status=FAILED,
            endpoint=invalid.endpoint,
            account=invalid.account,
            region=invalid.region,
            group=invalid.group or "",
            serving_package_arn=previous.serving_package_arn if previous else None,
            serving_version=previous.serving_version if previous else None,
            reason=reason,
            event_id=trigger.event_id,
        )
        self._write(replace(entry, endpoint_id=key))
