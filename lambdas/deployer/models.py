"""Plain data shared by the controller, the adapters and the `mlops` CLI (no AWS imports here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# DescribeEndpoint statuses during which a write call would fail or interfere.
BUSY_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})

# Ledger statuses (docs/contracts.md).
REQUESTED = "requested"
IN_PROGRESS = "in_progress"
LIVE = "live"
FAILED = "failed"
ROLLED_BACK = "rolled_back"
SUPERSEDED = "superseded"
SKIPPED = "skipped"
DELETED = "deleted"  # a retired endpoint (config `retired`, `on_remove: delete`) the deployer deleted
LEDGER_STATUSES = (REQUESTED, IN_PROGRESS, LIVE, FAILED, ROLLED_BACK, SUPERSEDED, SKIPPED, DELETED)
# A version whose latest ledger item has one of these is not retried automatically.
BLOCKING_STATUSES = frozenset({FAILED, ROLLED_BACK})


@dataclass(frozen=True)
class Package:
    """One version of a model package group, as ListModelPackages describes it."""

    arn: str
    version: int
    approval_status: str | None = None
    stage: str | None = None
    status: str | None = None
    stage_status: str | None = None  # ModelLifeCycle.StageStatus


@dataclass(frozen=True)
class ScalingTarget:
    """The Application Auto Scaling target registered for the endpoint's variant (DescribeScalableTargets)."""

    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class EndpointView:
    """What DescribeEndpoint says (``exists=False`` when SageMaker does not know the endpoint)."""

    exists: bool
    status: str | None = None
    config_name: str | None = None
    variant_name: str | None = None
    variant_count: int = 0
    instance_count: int | None = None
    failure_reason: str | None = None
    # The serving settings, read only for an InService endpoint on a deployer-made config: the live
    # config's instance type (DescribeEndpointConfig), the variant's DesiredInstanceCount, and the
    # autoscaling target registered for the variant (None: none registered).
    instance_type: str | None = None
    desired_instance_count: int | None = None
    scaling: ScalingTarget | None = None
    # The live model's ExecutionRoleArn and EnableNetworkIsolation (read with the serving settings; None:
    # not read)
    execution_role_arn: str | None = None
    network_isolation: bool | None = None

    @property
    def busy(self) -> bool:
        return self.status in BUSY_STATUSES


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger item. ``endpoint_id`` and ``at`` are filled in by the ledger when written."""

    status: str
    endpoint: str
    account: str
    region: str
    group: str
    model_package_arn: str | None = None
    version: int | None = None
    previous_package_arn: str | None = None
    previous_version: int | None = None
    serving_package_arn: str | None = None
    serving_version: int | None = None
    endpoint_config: str | None = None
    rollout: dict[str, Any] = field(default_factory=dict)
    approved_by: str | None = None
    approval_description: str | None = None
    reason: str | None = None
    event_id: str | None = None
    endpoint_id: str = ""
    at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v != {} and v != ""}


@dataclass(frozen=True)
class DeployPlan:
    """The write calls of one reconcile: CreateModel, CreateEndpointConfig, then Update/CreateEndpoint."""

    kind: str  # "create" | "update"
    package: Package
    model_name: str
    config_name: str
    variant_name: str
    instance_type: str
    instance_count: int
    execution_role_arn: str
    deployment_config: dict[str, Any] | None  # None for CreateEndpoint
    rollout_note: str | None = None  # why the rollout differs from the configured one (fleet size)
    rollout: dict[str, Any] = field(default_factory=dict)  # the rollout actually requested
    network_isolation: bool = True  # CreateModel EnableNetworkIsolation
    # PutMetricAlarm requests of the new fleet's rollback alarms, made before UpdateEndpoint
    alarm_requests: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Decision:
    """The controller's answer. ``records`` are written first; ``started`` only after ``deploy`` succeeded."""

    reason: str
    records: tuple[LedgerEntry, ...] = ()
    deploy: DeployPlan | None = None
    started: LedgerEntry | None = None
    cleanup_keep: str | None = None  # endpoint config now in use: older deployer-made ones may go
    # A count change of an autoscaled variant: the new autoscaling minimum (and maximum, raised only when
    # below it); ``started`` is written once Application Auto Scaling accepted it.
    scaling: ScalingTarget | None = None

    @property
    def writes(self) -> bool:
        return bool(self.records or self.deploy or self.cleanup_keep or self.scaling)
