"""The reconcile decision: a pure function of data (DESIGN section 3). No AWS, no clock, no I/O.

``decide`` compares the desired version (newest version of the group matching ``follows``) with
what the endpoint serves (from DescribeEndpoint, via the deterministic config name) and with the
newest ledger items, and returns a ``Decision``: ledger records to append, at most one deployment
plan, and whether old deployer-made resources may be cleaned up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from deployer import names, rollback_alarms
from deployer.events import EndpointChange, ModelPackageChange, Sweep
from deployer.models import (
    BLOCKING_STATUSES,
    FAILED,
    IN_PROGRESS,
    LIVE,
    ROLLED_BACK,
    SKIPPED,
    SUPERSEDED,
    Decision,
    DeployPlan,
    EndpointView,
    LedgerEntry,
    Package,
    ScalingTarget,
)
from deployer.settings import Deployment, Rollout

APPROVED = "Approved"
DEFAULT_VARIANT = "AllTraffic"
DEPLOYABLE_PACKAGE_STATUSES = frozenset({"Completed"})
# Reason prefix of a failure where AWS refused our write calls (same inputs, same refusal).
REFUSED = "AWS refused"
NOT_SERVING = frozenset({"Creating", "Failed"})
# Reason prefixes of failures of the endpoint rather than of the version.
ENDPOINT_GONE = "endpoint disappeared"
ENDPOINT_FAILED = "endpoint is Failed"
ENDPOINT_FAILURES = (ENDPOINT_GONE, ENDPOINT_FAILED)
# Reason prefixes of a change of the serving settings (instance type or count) of a version that
# already serves, and of one that needs an operator first (it holds nothing back once done).
CONFIG_CHANGE = "config change"
CONFIG_CHANGE_REFUSED = "config change needs an operator"
# https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html
AUTOSCALING_UPDATE_DOC = "https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html"

Trigger = ModelPackageChange | EndpointChange | Sweep | None


# --- desired version --------------------------------------------------------------------------


def matches(package: Package, follows: str) -> bool:
    """``Approved`` follows the approval status; any other value names a lifecycle stage, and a version
    matches it only when ModelLifeCycle is that stage with StageStatus ``Approved`` AND the version
    itself is ``Approved``: AWS deploys a versioned package only once it is approved
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html), and a
    stage alone may have been set by someone who cannot approve."""
    if package.status is not None and package.status not in DEPLOYABLE_PACKAGE_STATUSES:
        return False
    if package.approval_status != APPROVED:
        return False
    if follows == APPROVED:
        return True
    return package.stage == follows and package.stage_status == APPROVED


def package_from_summary(summary: Mapping[str, Any]) -> Package:
    lifecycle = summary.get("ModelLifeCycle")
    return Package(
        arn=summary["ModelPackageArn"],
        version=int(summary["ModelPackageVersion"]),
        approval_status=summary.get("ModelApprovalStatus"),
        stage=lifecycle.get("Stage") if isinstance(lifecycle, Mapping) else None,
        stage_status=lifecycle.get("StageStatus") if isinstance(lifecycle, Mapping) else None,
        status=summary.get("ModelPackageStatus"),
    )


def pick_desired(packages: Iterable[Package], follows: str) -> Package | None:
    """First match of a newest-first sequence (ListModelPackages with SortOrder=Descending).

    The iterable is consumed lazily, so an adapter that pages stops at the first match.
    """
    for package in packages:
        if matches(package, follows):
            return package
    return None


def matching_since(
    packages: Iterable[Package], follows: str, floor: int | None, cap: int = 50
) -> list[Package]:
    """Matching versions, newest first, down to the one the endpoint serves (``floor``).

    The first item is the desired version; the others are approved (or staged) versions that were
    never deployed because a newer one came first: they end as ``superseded``. Stops at the first
    package at or below ``floor`` (usually on the first page), or after the first match when the
    serving version is unknown.
    """
    found: list[Package] = []
    for package in packages:
        if floor is not None and package.version <= floor:
            if found:
                break
            if matches(package, follows):  # e.g. the live version was rejected: roll back to this
                found.append(package)
                break
            continue
        if matches(package, follows):
            found.append(package)
            if floor is None or len(found) >= cap:
                break
    return found


def serving_version(deployment: Deployment, endpoint: EndpointView) -> int | None:
    token = names.parse(deployment.endpoint, endpoint.config_name) if endpoint.exists else None
    return token.version if token else None


# --- rollout --------------------------------------------------------------------------------------


def rolling_deployment_config(rollout: Rollout, alarms: Sequence[str]) -> dict[str, Any]:
    """UpdateEndpoint's DeploymentConfig for `strategy: rolling`: batches instead of a second fleet.

    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RollingUpdatePolicy.html
    """
    assert rollout.batch is not None, "rolling rollouts are parsed with a batch size"
    policy: dict[str, Any] = {
        "MaximumBatchSize": {"Type": rollout.batch[0], "Value": rollout.batch[1]},
        "WaitIntervalInSeconds": rollout.wait_seconds,
        "MaximumExecutionTimeoutInSeconds": rollout.max_execution_seconds,
    }
    if rollout.rollback_batch:
        policy["RollbackMaximumBatchSize"] = {
            "Type": rollout.rollback_batch[0],
            "Value": rollout.rollback_batch[1],
        }
    return {
        "RollingUpdatePolicy": policy,
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarms]},
    }


def deployment_config(rollout: Rollout, alarms: Sequence[str]) -> dict[str, Any]:
    """UpdateEndpoint's DeploymentConfig: blue/green traffic shifting plus alarm auto-rollback."""
    if rollout.strategy == "rolling":
        return rolling_deployment_config(rollout, alarms)
    routing: dict[str, Any]
    if rollout.strategy == "canary":
        routing = {
            "Type": "CANARY",
            "WaitIntervalInSeconds": rollout.wait_seconds,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": rollout.step_percent},
        }
    elif rollout.strategy == "linear":
        routing = {
            "Type": "LINEAR",
            "WaitIntervalInSeconds": rollout.wait_seconds,
            "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": rollout.step_percent},
        }
    else:
        routing = {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": rollout.bake_seconds,
            "MaximumExecutionTimeoutInSeconds": rollout.max_execution_seconds,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in alarms]},
    }


def fit_rollout(rollout: Rollout, instances: int) -> tuple[Rollout, str | None]:
    """The rollout to request for a fleet of ``instances`` (the endpoint's current, autoscaled count).

    SageMaker refuses a canary larger than half the fleet and a linear step above 50% of it
    (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green-canary.html,
    .../deployment-guardrails-blue-green-linear.html); percentages become whole instances, so a
    small fleet can break the limit whatever the percentage (25% of 1 instance is 1 instance,
    100%). Then the update goes all at once, keeping the baking period in which the rollback alarms
    act, and the returned note says so (it goes into the ledger's reason).
    """
    if rollout.strategy not in ("canary", "linear"):
        return rollout, None
    step_instances = math.ceil(instances * rollout.step_percent / 100)
    if step_instances * 2 <= instances:
        return rollout, None
    note = (
        f"a {rollout.strategy} step of {rollout.step_percent}% of {instances} instance(s) is "
        f"{step_instances} instance(s), more than half the fleet (SageMaker's limit); "
        f"rolled out all_at_once with a {rollout.bake_seconds} s baking period instead"
    )
    return Rollout(strategy="all_at_once", bake_seconds=rollout.bake_seconds), note


# --- the decision ---------------------------------------------------------------------------------


def decide(
    deployment: Deployment,
    desired: Package | None,
    endpoint: EndpointView,
    recent: Sequence[LedgerEntry],
    trigger: Trigger = None,
    skipped: Sequence[Package] = (),
) -> Decision:
    """Reconcile one endpoint.

    ``recent`` is the endpoint's ledger, newest first (a few items); ``skipped`` are matching
    versions older than ``desired`` but newer than what the endpoint serves (see matching_since).
    """
    d = _Context(deployment, desired, endpoint, recent, trigger)
    records: list[LedgerEntry] = []

    # 1. The outcome of the deployment we requested last, once the endpoint has settled.
    outcome = d.outcome_of_pending()
    if outcome is not None:
        records.append(outcome)
    latest = records[-1] if records else (recent[0] if recent else None)  # for write-once checks
    state = records[-1] if records else _state(recent)  # the deployment state (no superseded notes)
    cleanup = endpoint.config_name if outcome is not None and outcome.status == LIVE else None

    # 2. Approvals that lost the race to a newer version end as superseded.
    superseded = d.superseded_by_newer()
    if superseded is not None:
        records.append(superseded)

    def done(reason: str, *extra: LedgerEntry | None) -> Decision:
        extra_records = tuple(r for r in extra if r is not None and _is_new(latest, r))
        return Decision(reason=reason, records=(*records, *extra_records), cleanup_keep=cleanup)

    if endpoint.busy:
        return done(f"endpoint is {endpoint.status}; its next state change (or the sweep) looks again")
    if endpoint.exists and endpoint.variant_count > 1:
        return done(
            "endpoint has several production variants",
            d.record(
                FAILED, desired, reason="multi-variant endpoints are not supported by blue/green updates"
            ),
        )
    if desired is None:
        if not endpoint.exists:
            return done(
                f"no version of {deployment.group} matches follows={deployment.follows!r}; nothing to create"
            )
        return done(
            "no matching version",
            d.record(
                SKIPPED,
                None,
                reason=f"no version of {deployment.group} matches follows={deployment.follows!r}; "
                f"endpoint left on {d.current_label}",
            ),
        )

    desired_token = names.token_of(desired.version, desired.arn)
    if endpoint.exists and endpoint.status == "InService" and d.current == desired_token:
        change = d.config_change(desired, state, records, cleanup, latest)
        if change is not None:
            return change
        if (
            state is None
            or state.serving_package_arn != desired.arn
            or state.status in (IN_PROGRESS, SKIPPED)
        ):
            live = d.record(LIVE, desired, reason=f"endpoint serves version {desired.version}")
            return Decision(
                reason="endpoint already serves the desired version; ledger brought up to date",
                records=(*records, live),
                cleanup_keep=endpoint.config_name,
            )
        return done(f"endpoint already serves version {desired.version}")

    if (
        state is not None
        and state.status in BLOCKING_STATUSES
        and state.model_package_arn == desired.arn
        # A missing endpoint is recreated after the endpoint itself failed (the operator deleted
        # it, as the failure notice asks), but not after the version itself was refused.
        and (endpoint.exists or not (state.reason or "").startswith(ENDPOINT_FAILURES))
        and not (state.reason or "").startswith(CONFIG_CHANGE_REFUSED)
    ):
        return done(
            f"version {desired.version} {state.status.replace('_', ' ')} at {state.at or 'the last attempt'}; "
            "not retrying it until a newer version matches or a 'requested' ledger item asks for it"
        )
    if d.inference_spec_missing():
        return done(
            "package has no inference specification",
            d.record(
                FAILED, desired, reason=f"{desired.arn} has no InferenceSpecification; it cannot be deployed"
            ),
        )
    if endpoint.exists and endpoint.status == "Failed":
        return done(
            "endpoint is Failed",
            d.record(
                FAILED,
                desired,
                reason=f"{ENDPOINT_FAILED} ({endpoint.failure_reason or 'no reason given'}); "
                "delete it and the deployer recreates it",
            ),
        )
    if endpoint.exists and endpoint.status != "InService":
        return done(
            f"endpoint is {endpoint.status}",
            d.record(FAILED, desired, reason=f"endpoint status {endpoint.status!r} needs an operator"),
        )

    refused = d.autoscaled_type_change()
    if refused is not None:
        return done(
            "instance type change of an autoscaled variant", d.record(FAILED, desired, reason=refused)
        )

    plan = d.plan(desired)
    verb = "update" if plan.kind == "update" else "create"
    known_versions = {item.version for item in (*recent, *records)}
    for older in skipped:
        if older.version not in known_versions and older.arn != desired.arn:
            records.append(
                d.record(
                    SUPERSEDED,
                    older,
                    reason=f"version {desired.version} is newer and also matches follows={deployment.follows!r}",
                )
            )
    started = d.started(desired, plan, f"{verb} to version {desired.version}")
    return Decision(
        reason=f"{verb} endpoint to version {desired.version}",
        records=tuple(records),
        deploy=plan,
        started=started,
        cleanup_keep=cleanup,
    )


def failed_start(decision: Decision, reason: str) -> LedgerEntry:
    """The ledger item for a deployment whose write calls AWS refused (permanently)."""
    assert decision.started is not None
    return replace(decision.started, status=FAILED, reason=f"{REFUSED} the deployment: {reason}")


# --- helpers ----------------------------------------------------------------------------------------


class _Context:
    def __init__(
        self,
        deployment: Deployment,
        desired: Package | None,
        endpoint: EndpointView,
        recent: Sequence[LedgerEntry],
        trigger: Trigger,
    ) -> None:
        self.deployment = deployment
        self.desired = desired
        self.endpoint = endpoint
        self.recent = recent
        self.trigger = trigger
        # A Creating or Failed endpoint serves nothing, whatever config it names.
        serves = endpoint.exists and endpoint.status not in NOT_SERVING
        self.current = names.parse(deployment.endpoint, endpoint.config_name) if serves else None

    # what the endpoint serves now, as (arn, version)
    @property
    def current_package(self) -> tuple[str | None, int | None]:
        if self.current is None:
            return None, None
        version = self.current.version
        for item in self.recent:
            for arn, ver in (
                (item.serving_package_arn, item.serving_version),
                (item.model_package_arn, item.version),
            ):
                if arn and ver == version and names.package_token(arn) == self.current.package_token:
                    return arn, version
        if (
            self.desired is not None
            and names.token_of(self.desired.version, self.desired.arn) == self.current
        ):
            return self.desired.arn, version
        return self.deployment.package_arn(version), version

    @property
    def current_label(self) -> str:
        if not self.endpoint.exists:
            return "no endpoint"
        if self.current is None:
            return f"config {self.endpoint.config_name} (not made by the deployer)"
        return f"version {self.current.version}"

    def record(
        self, status: str, package: Package | None, *, reason: str, endpoint_config: str | None = None
    ) -> LedgerEntry:
        serving_arn, serving_version = self.current_package
        previous_arn, previous_version = serving_arn, serving_version
        if status == LIVE and package is not None:
            serving_arn, serving_version = package.arn, package.version
            previous = self._previous_serving()
            previous_arn, previous_version = previous
        approved_by, description = self._approval_of(package.arn if package else None)
        return LedgerEntry(
            status=status,
            endpoint=self.deployment.endpoint,
            account=self.deployment.account,
            region=self.deployment.region,
            group=self.deployment.group,
            model_package_arn=package.arn if package else None,
            version=package.version if package else None,
            previous_package_arn=previous_arn,
            previous_version=previous_version,
            serving_package_arn=serving_arn,
            serving_version=serving_version,
            endpoint_config=endpoint_config or self.endpoint.config_name,
            rollout=self.deployment.rollout.as_dict(),
            approved_by=approved_by,
            approval_description=description,
            reason=reason,
            event_id=self.trigger.event_id if self.trigger is not None else None,
        )

    def started(self, package: Package, plan: DeployPlan, what: str) -> LedgerEntry:
        """The in-progress item of a deploy: ``what`` started, with the rollout as planned (a rollout
        fitted to the live fleet names why and carries the fitted rollout)."""
        if plan.rollout_note is None:
            reason = f"{what} ({self.deployment.rollout.strategy}) started"
            return self.record(IN_PROGRESS, package, reason=reason, endpoint_config=plan.config_name)
        entry = self.record(
            IN_PROGRESS,
            package,
            reason=f"{what} started: {plan.rollout_note}",
            endpoint_config=plan.config_name,
        )
        return replace(entry, rollout=plan.rollout)

    def _previous_serving(self) -> tuple[str | None, int | None]:
        """What served before the version going live: the newest state item's serving version
        (for an in-progress item, the version the update started from)."""
        state = _state(self.recent)
        if state is None:
            return None, None
        return state.serving_package_arn, state.serving_version

    def _approval_of(self, package_arn: str | None) -> tuple[str | None, str | None]:
        trigger = self.trigger
        if isinstance(trigger, ModelPackageChange) and trigger.package_arn == package_arn:
            return trigger.approved_by, trigger.approval_description
        for item in self.recent:
            if item.model_package_arn == package_arn and (item.approved_by or item.approval_description):
                return item.approved_by, item.approval_description
        return None, None

    def outcome_of_pending(self) -> LedgerEntry | None:
        """Turn our newest in-progress item into live / rolled_back / failed once the endpoint settles."""
        pending = _state(self.recent)
        if pending is None or pending.status != IN_PROGRESS or not pending.endpoint_config:
            return None
        endpoint = self.endpoint
        if endpoint.busy:
            return None
        package = (
            Package(arn=pending.model_package_arn, version=pending.version)
            if pending.model_package_arn and pending.version is not None
            else None
        )

        def outcome(status: str, reason: str) -> LedgerEntry:
            entry = self.record(status, package, reason=reason, endpoint_config=endpoint.config_name)
            return replace(
                entry,
                approved_by=entry.approved_by or pending.approved_by,
                approval_description=entry.approval_description or pending.approval_description,
                rollout=pending.rollout or entry.rollout,
            )

        if not endpoint.exists:
            return outcome(FAILED, f"{ENDPOINT_GONE} while the deployment was in progress")
        change = (pending.reason or "").startswith(CONFIG_CHANGE)
        if endpoint.status == "InService" and endpoint.config_name == pending.endpoint_config:
            if change:
                return outcome(
                    LIVE, f"{CONFIG_CHANGE} is live: version {pending.version} on {endpoint.config_name}"
                )
            return outcome(LIVE, f"version {pending.version} is live")
        if endpoint.status == "InService":
            why = endpoint.failure_reason or "the update did not complete"
            what = f"the {CONFIG_CHANGE} ({pending.reason})" if change else f"version {pending.version}"
            return outcome(
                ROLLED_BACK,
                f"SageMaker rolled back to {self.current_label} ({why}); {what} is not retried",
            )
        if endpoint.status == "Failed":
            return outcome(FAILED, f"{ENDPOINT_FAILED}: {endpoint.failure_reason or 'no reason given'}")
        return outcome(FAILED, f"endpoint ended in status {endpoint.status!r}")

    def superseded_by_newer(self) -> LedgerEntry | None:
        trigger, desired = self.trigger, self.desired
        if not isinstance(trigger, ModelPackageChange) or desired is None or trigger.version is None:
            return None
        if trigger.package_arn == desired.arn or trigger.version >= desired.version:
            return None
        if not matches(
            Package(
                arn=trigger.package_arn,
                version=trigger.version,
                approval_status=trigger.approval_status,
                stage=trigger.stage,
                stage_status=trigger.stage_status,
            ),
            self.deployment.follows,
        ):
            return None
        if any(item.version == trigger.version for item in self.recent):
            return None
        package = Package(arn=trigger.package_arn, version=trigger.version)
        return self.record(
            SUPERSEDED,
            package,
            reason=f"version {desired.version} is newer and also matches follows={self.deployment.follows!r}",
        )

    def inference_spec_missing(self) -> bool:
        trigger, desired = self.trigger, self.desired
        return (
            isinstance(trigger, ModelPackageChange)
            and desired is not None
            and trigger.package_arn == desired.arn
            and trigger.has_inference_spec is False
        )

    # --- serving settings (instance type and count) ----------------------------------------------

    def planned_count(self) -> int:
        """The instance count of a new EndpointConfig: the configured one, unless Application Auto
        Scaling manages the variant; then the count it scaled to (the autoscaling minimum carries the
        configured count, see ``config_change``), so an update never fights the scaling policy."""
        endpoint, configured = self.endpoint, self.deployment.instance_count
        if not endpoint.exists or endpoint.scaling is None:
            return configured
        live = endpoint.desired_instance_count or endpoint.instance_count or configured
        return min(max(live, endpoint.scaling.min_capacity), endpoint.scaling.max_capacity)

    def setting_changes(self) -> list[str]:
        """What differs between the configured serving settings and the live ones ([] when unknown)."""
        endpoint, deployment = self.endpoint, self.deployment
        changes = []
        if endpoint.instance_type is not None and endpoint.instance_type != deployment.instance_type:
            changes.append(f"instance_type {endpoint.instance_type} -> {deployment.instance_type}")
        live_count = endpoint.desired_instance_count or endpoint.instance_count
        if endpoint.scaling is None and live_count is not None and live_count != deployment.instance_count:
            changes.append(f"instance_count {live_count} -> {deployment.instance_count}")
        live_role = endpoint.execution_role_arn
        if live_role is not None and live_role != deployment.execution_role_arn:
            # e.g. the shared execution role a former release used, deleted by the upgrade: SageMaker needs
            # the model's role whenever it launches instances, so the live version moves to the new one
            changes.append(
                f"execution role {_role_name(live_role)} -> {_role_name(deployment.execution_role_arn)}"
            )
        live_isolation = endpoint.network_isolation
        if live_isolation is not None and live_isolation != deployment.network_isolation:
            # CreateModel's EnableNetworkIsolation cannot change on a model: a new model, a new fleet
            changes.append(
                f"network_isolation {_flag(live_isolation)} -> {_flag(deployment.network_isolation)}"
            )
        return changes

    def autoscaled_type_change(self) -> str | None:
        """SageMaker fails an UpdateEndpoint that changes the instance type of a variant registered with
        Application Auto Scaling (AUTOSCALING_UPDATE_DOC): the deployer does not deregister it (that
        deletes the operator's scaling policies); it says what to do, once."""
        endpoint, deployment = self.endpoint, self.deployment
        if endpoint.scaling is None or endpoint.instance_type in (None, deployment.instance_type):
            return None
        target = f"endpoint/{deployment.endpoint}/variant/{endpoint.variant_name or DEFAULT_VARIANT}"
        return (
            f"{CONFIG_CHANGE_REFUSED}: instance_type {endpoint.instance_type} -> {deployment.instance_type} "
            f"on a variant registered with Application Auto Scaling ({target}); SageMaker refuses that "
            f"update ({AUTOSCALING_UPDATE_DOC}). Delete its scaling policies and deregister the scalable "
            "target; the deployer then rolls the change out; register the target again afterwards"
        )

    def config_change(
        self,
        desired: Package,
        state: LedgerEntry | None,
        records: list[LedgerEntry],
        cleanup: str | None,
        latest: LedgerEntry | None,
    ) -> Decision | None:
        """The endpoint serves the desired version: do its serving settings match the configured ones?

        A changed instance type, count (no autoscaling) or execution role rolls out like a new version: a new
        EndpointConfig, UpdateEndpoint with the configured rollout and alarms, a ledger item whose reason
        starts with "config change". A count change of an autoscaled variant sets the autoscaling
        minimum instead (RegisterScalableTarget updates a registered target and moves the capacity into
        the new range: https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html).
        A rollout change alone deploys nothing: it is how the next update rolls out.
        """
        deployment, endpoint = self.deployment, self.endpoint
        refused = self.autoscaled_type_change()
        if refused is not None:
            entry = self.record(FAILED, desired, reason=refused)
            new = (entry,) if _is_new(latest, entry) else ()
            return Decision(reason=refused, records=(*records, *new), cleanup_keep=cleanup)
        changes = self.setting_changes()
        if changes:
            plan = self.plan(desired)
            pending = next((i for i in self.recent if i.status == IN_PROGRESS), None)
            if (
                state is not None
                and state.status in BLOCKING_STATUSES
                and pending is not None
                and pending.endpoint_config == plan.config_name
            ):
                return Decision(
                    reason=f"{CONFIG_CHANGE} ({', '.join(changes)}) {state.status.replace('_', ' ')} at "
                    f"{state.at or 'the last attempt'}; not retried until the config changes again or a "
                    "'requested' ledger item asks for it",
                    records=tuple(records),
                    cleanup_keep=cleanup,
                )
            what = f"{CONFIG_CHANGE}: {', '.join(changes)}"
            started = self.started(desired, plan, f"{what}; update of version {desired.version}")
            return Decision(
                reason=f"{what}; update endpoint", records=tuple(records), deploy=plan, started=started
            )
        scaling = endpoint.scaling
        if scaling is not None and scaling.min_capacity != deployment.instance_count:
            wanted = ScalingTarget(
                deployment.instance_count, max(scaling.max_capacity, deployment.instance_count)
            )
            raised = (
                f", maximum {scaling.max_capacity} -> {wanted.max_capacity}"
                if wanted.max_capacity != scaling.max_capacity
                else ""
            )
            reason = (
                f"{CONFIG_CHANGE}: instance_count {deployment.instance_count} sets the autoscaling minimum "
                f"{scaling.min_capacity} -> {wanted.min_capacity}{raised} (the variant is autoscaled)"
            )
            return Decision(
                reason=reason,
                records=tuple(records),
                scaling=wanted,
                started=self.record(LIVE, desired, reason=reason),
                cleanup_keep=cleanup,
            )
        return None

    def plan(self, desired: Package) -> DeployPlan:
        deployment, endpoint = self.deployment, self.endpoint
        variant = (endpoint.variant_name if endpoint.exists else None) or DEFAULT_VARIANT
        count = self.planned_count()
        model = names.model_name(
            deployment.endpoint,
            desired.version,
            desired.arn,
            deployment.execution_role_arn,
            network_isolation=deployment.network_isolation,
        )
        config = names.config_name(
            deployment.endpoint,
            desired.version,
            desired.arn,
            model=model,
            variant=variant,
            instance_type=deployment.instance_type,
            instance_count=count,
        )
        rollout, note = fit_rollout(deployment.rollout, count)
        return DeployPlan(
            kind="update" if endpoint.exists else "create",
            package=desired,
            model_name=model,
            config_name=config,
            variant_name=variant,
            instance_type=deployment.instance_type,
            instance_count=count,
            execution_role_arn=deployment.execution_role_arn,
            # the rollback alarms watch the new fleet only (its config name, its real variant)
            deployment_config=deployment_config(rollout, rollback_alarms.alarm_names(config))
            if endpoint.exists
            else None,
            rollout_note=note if endpoint.exists else None,
            rollout=rollout.as_dict(),
            network_isolation=deployment.network_isolation,
            alarm_requests=tuple(rollback_alarms.alarm_requests(deployment.endpoint, config, variant))
            if endpoint.exists
            else (),
        )


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


def _state(recent: Sequence[LedgerEntry]) -> LedgerEntry | None:
    """The newest item that is about the endpoint's own deployment (superseded items are notes
    about other versions and may be written while a deployment is in progress)."""
    return next((item for item in recent if item.status != SUPERSEDED), None)


def _is_new(latest: LedgerEntry | None, record: LedgerEntry) -> bool:
    """Failure-type records are written once, not on every look (no notification storms)."""
    if latest is None:
        return True
    return not (
        latest.status == record.status
        and latest.model_package_arn == record.model_package_arn
        and latest.reason == record.reason
    )
