"""In-memory fakes of SageMaker (with endpoint status transitions), the ledger and SNS.

The fake SageMaker implements the service's Gateway protocol and behaves like the real service
where it matters to the controller: newest-first listing, endpoint status transitions that emit
state-change events, "Cannot update in-progress endpoint", silent blue/green rollback, and
CreateModel refusing a package without an inference specification. It records every write call
and the invariants the property test checks (no update on a busy endpoint, no retry loop).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from deployer.errors import EndpointBusy, PermanentError
from deployer.events import EndpointChange, ModelPackageChange, Sweep
from deployer.ledger import endpoint_id, format_at
from deployer.models import DeployPlan, EndpointView, LedgerEntry, Package, ScalingTarget
from deployer.settings import Deployment, Rollout, Settings

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
# The statuses in which SageMaker refuses UpdateEndpoint, written down here from the API reference
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html, EndpointStatus),
# not imported from the production code: a wrong production set must not make the fake agree with it.
FAKE_BUSY_STATUSES = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
REGISTRY = "111111111111"
SERVING = "333333333333"
REGION = "eu-west-1"
GROUP = "fraud-detector"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


def sqs_event(*bodies: dict[str, Any] | str, ids: list[str] | None = None) -> dict[str, Any]:
    """A Lambda SQS event whose records carry the given EventBridge events."""
    template = load_event("sqs_batch")["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = dict(template)
        record["messageId"] = ids[index] if ids else f"msg-{index}"
        record["body"] = body if isinstance(body, str) else json.dumps(body)
        records.append(record)
    return {"Records": records}


def make_deployment(**overrides: Any) -> Deployment:
    values: dict[str, Any] = {
        "endpoint": "fraud-detector-prod",
        "group": GROUP,
        "group_arn": f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package-group/{GROUP}",
        "account": SERVING,
        "region": REGION,
        "follows": "Approved",
        "instance_type": "ml.m5.large",
        "instance_count": 2,
        "rollout": Rollout("canary", step_percent=25, wait_seconds=300, bake_seconds=600),
        "alarms": ("mlops-fraud-detector-prod-5xx", "mlops-fraud-detector-prod-latency"),
        "execution_role_arn": f"arn:aws:iam::{SERVING}:role/mlops-sagemaker-execution",
        "deploy_role_arn": f"arn:aws:iam::{SERVING}:role/mlops-deploy-access",
    }
    values.update(overrides)
    return Deployment(**values)


def make_settings(*deployments: Deployment, invalid: tuple[Any, ...] = ()) -> Settings:
    return Settings(
        ledger_table="mlops-deployment-ledger",
        topic_arn=f"arn:aws:sns:{REGION}:{REGISTRY}:mlops-deployments",
        registry_account=REGISTRY,
        deployments=deployments or (make_deployment(),),
        invalid=invalid,
    )


def package_arn(version: int, group: str = GROUP) -> str:
    return f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package/{group}/{version}"


# --- SageMaker --------------------------------------------------------------------------------------


@dataclass
class FakePackage:
    group: str
    version: int
    approval: str = "PendingManualApproval"
    stage: str | None = None
    has_spec: bool = True
    status: str = "Completed"
    stage_status: str = "Approved"
    spec: dict[str, Any] | None = None  # InferenceSpecification (None: a valid default)

    @property
    def arn(self) -> str:
        return package_arn(self.version, self.group)

    def summary(self) -> Package:
        return Package(
            self.arn,
            self.version,
            self.approval,
            self.stage,
            self.status,
            stage_status=self.stage_status if self.stage else None,
        )


@dataclass
class FakeEndpoint:
    name: str
    status: str
    config: str
    variant: str = "AllTraffic"
    instance_count: int = 2
    pending_config: str | None = None
    previous_config: str | None = None
    fail_pending: bool = False
    failure_reason: str | None = None
    extra_variants: int = 0
    scaling: ScalingTarget | None = None  # an Application Auto Scaling target on the variant


@dataclass
class FakeSageMaker:
    packages: dict[str, list[FakePackage]] = field(default_factory=dict)
    endpoints: dict[str, FakeEndpoint] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)  # name -> package arn
    configs: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (model, seq)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    events: list[EndpointChange] = field(default_factory=list)
    fail_next_update: set[str] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    update_targets: dict[str, list[str]] = field(default_factory=dict)
    rolled_back_packages: set[str] = field(default_factory=set)  # updates made to fail (fail_next)
    described_packages: list[str] = field(default_factory=list)
    sizing: dict[str, tuple[str, int]] = field(default_factory=dict)  # config -> (type, count)
    model_roles: dict[str, str] = field(default_factory=dict)  # model name -> ExecutionRoleArn
    model_isolation: dict[str, bool] = field(default_factory=dict)  # model name -> EnableNetworkIsolation
    _seq: Iterator[int] = field(default_factory=itertools.count)

    # registry
    def register(
        self, group: str = GROUP, *, approval: str = "PendingManualApproval", has_spec: bool = True
    ) -> FakePackage:
        versions = self.packages.setdefault(group, [])
        package = FakePackage(group, len(versions) + 1, approval=approval, has_spec=has_spec)
        versions.append(package)
        return package

    def package(self, version: int, group: str = GROUP) -> FakePackage:
        return self.packages[group][version - 1]

    def iter_packages(self, deployment: Deployment) -> Iterator[Package]:
        self.calls.append(("list_model_packages", {"group": deployment.group}))
        newest_first = sorted(self.packages.get(deployment.group, []), key=lambda p: p.version, reverse=True)
        for package in newest_first:
            if package.approval != "Approved":  # the gateway lists only Approved versions
                continue
            yield package.summary()

    # endpoints
    def describe_endpoint(self, deployment: Deployment) -> EndpointView:
        self.calls.append(("describe_endpoint", {"endpoint": deployment.endpoint}))
        ep = self.endpoints.get(deployment.endpoint)
        if ep is None:
            return EndpointView(exists=False)
        sizing = self.sizing.get(ep.config) if ep.status == "InService" else None
        return EndpointView(
            exists=True,
            status=ep.status,
            config_name=ep.config,
            variant_name=ep.variant,
            variant_count=1 + ep.extra_variants,
            instance_count=ep.instance_count,
            failure_reason=ep.failure_reason,
            instance_type=sizing[0] if sizing else None,
            desired_instance_count=ep.instance_count if sizing else None,
            scaling=ep.scaling if sizing else None,
            execution_role_arn=self.model_roles.get(self.configs[ep.config][0]) if sizing else None,
            network_isolation=self.model_isolation.get(self.configs[ep.config][0]) if sizing else None,
        )

    def delete_retired(self, retired: Any) -> str:
        self.calls.append(("delete_retired", {"endpoint": retired.endpoint}))
        ep = self.endpoints.get(retired.endpoint)
        if ep is None:
            return "gone"
        if ep.status == "Deleting":
            del self.endpoints[retired.endpoint]  # the next look finds it gone
            return "deleting"
        ep.status = "Deleting"
        self.calls.append(("delete_endpoint", {"endpoint": retired.endpoint}))
        return "deleted"

    def update_scaling(self, deployment: Deployment, variant: str, target: ScalingTarget) -> None:
        """RegisterScalableTarget on a registered target: the range changes and the capacity moves into it."""
        self.calls.append(("register_scalable_target", {"variant": variant, "target": target}))
        ep = self.endpoints[deployment.endpoint]
        ep.scaling = target
        ep.instance_count = min(max(ep.instance_count, target.min_capacity), target.max_capacity)

    def deploy(self, deployment: Deployment, plan: DeployPlan) -> None:
        name = deployment.endpoint
        ep = self.endpoints.get(name)
        package = self.package(plan.package.version, deployment.group)
        self.calls.append(("create_model", {"name": plan.model_name}))
        if not package.has_spec:
            raise PermanentError(
                f"create_model: ValidationException: {package.arn} has no InferenceSpecification"
            )
        self.models.setdefault(plan.model_name, plan.package.arn)
        self.model_roles.setdefault(plan.model_name, plan.execution_role_arn)
        self.model_isolation.setdefault(plan.model_name, plan.network_isolation)
        self.calls.append(("create_endpoint_config", {"name": plan.config_name}))
        self.configs.setdefault(plan.config_name, (plan.model_name, next(self._seq)))
        self.sizing.setdefault(plan.config_name, (plan.instance_type, plan.instance_count))
        if plan.kind == "create":
            self.calls.append(("create_endpoint", {"endpoint": name, "config": plan.config_name}))
            if ep is not None:
                self.violations.append(f"CreateEndpoint on existing endpoint {name}")
                raise PermanentError(
                    "create_endpoint: ValidationException: Cannot create already existing endpoint"
                )
            self.endpoints[name] = FakeEndpoint(
                name, "Creating", plan.config_name, instance_count=plan.instance_count
            )
            self._emit(name)
            return
        self.calls.append(
            ("update_endpoint", {"endpoint": name, "config": plan.config_name, "dc": plan.deployment_config})
        )
        if ep is None:
            raise PermanentError(f"update_endpoint: ValidationException: Could not find endpoint {name}")
        if ep.status in FAKE_BUSY_STATUSES:
            self.violations.append(f"UpdateEndpoint on {ep.status} endpoint {name}")
            raise EndpointBusy("update_endpoint: Cannot update in-progress endpoint")
        targets = self.update_targets.setdefault(name, [])
        if targets and targets[-1] == plan.config_name:
            self.violations.append(f"UpdateEndpoint twice in a row to {plan.config_name} on {name}")
        targets.append(plan.config_name)
        ep.status, ep.pending_config, ep.failure_reason = "Updating", plan.config_name, None
        ep.fail_pending = name in self.fail_next_update
        if ep.fail_pending:
            self.rolled_back_packages.add(plan.package.arn)
        self.fail_next_update.discard(name)
        self._emit(name)

    def cleanup(self, deployment: Deployment, keep_config: str) -> list[str]:
        self.calls.append(("cleanup", {"keep": keep_config}))
        in_use = {ep.config for ep in self.endpoints.values()} | {
            ep.pending_config for ep in self.endpoints.values() if ep.pending_config
        }
        if keep_config not in in_use:
            self.violations.append(f"cleanup keeps {keep_config}, which no endpoint uses")
        keep_seq = self.configs[keep_config][1]
        deleted = []
        for name, (_model, seq) in list(self.configs.items()):
            if name.startswith(deployment.endpoint[:20]) and name not in in_use and seq < keep_seq:
                del self.configs[name]
                deleted.append(name)
        return deleted

    def describe_package(self, deployment: Deployment, package_arn: str) -> dict[str, Any]:
        """DescribeModelPackage's audit fields (who changed the approval last, and why)."""
        self.calls.append(("describe_model_package", {"arn": package_arn}))
        self.described_packages.append(package_arn)
        return {
            "ModelPackageArn": package_arn,
            "LastModifiedBy": {
                "IamIdentity": {"Arn": "arn:aws:sts::111111111111:assumed-role/mlops-fraud-approver/bob"}
            },
            "ApprovalDescription": "from DescribeModelPackage",
            "InferenceSpecification": self._spec_of(package_arn),
        }

    def _spec_of(self, package_arn: str) -> dict[str, Any]:
        package = next((p for ps in self.packages.values() for p in ps if p.arn == package_arn), None)
        if package is not None and package.spec is not None:
            return package.spec
        version = package_arn.rsplit("/", 1)[-1]
        return {
            "Containers": [
                {
                    "Image": f"{REGISTRY}.dkr.ecr.{REGION}.amazonaws.com/fraud-detector:1.4",
                    "ModelDataUrl": f"s3://mlops-artifacts-{REGISTRY}-{REGION}/fraud/fraud-detector/v{version}/model.tar.gz",
                }
            ]
        }

    # time passes
    def tick(self, name: str) -> bool:
        """Advance one status transition of an endpoint; True when something changed."""
        ep = self.endpoints.get(name)
        if ep is None:
            return False
        if ep.status == "Creating":
            ep.status = "InService"
        elif ep.status == "Updating" and ep.fail_pending:
            ep.status = "RollingBack"
        elif ep.status == "Updating":
            ep.status, ep.config, ep.pending_config = "InService", ep.pending_config or ep.config, None
            if ep.config in self.sizing and ep.scaling is None:  # the new fleet's size
                ep.instance_count = self.sizing[ep.config][1]
        elif ep.status == "RollingBack":
            ep.status, ep.pending_config, ep.fail_pending = "InService", None, False
            ep.failure_reason = "Alarm mlops-fraud-detector-prod-5xx went into ALARM during canary"
        elif ep.status == "SystemUpdating":
            ep.status = "InService"
        else:
            return False
        self._emit(name)
        return True

    def system_update(self, name: str) -> None:
        ep = self.endpoints.get(name)
        if ep is not None and ep.status == "InService":
            ep.status = "SystemUpdating"
            self._emit(name)

    def serving_version(self, name: str) -> int | None:
        ep = self.endpoints.get(name)
        if ep is None or ep.status in ("Creating", "Failed"):
            return None
        model = self.configs[ep.config][0]
        return int(self.models[model].rsplit("/", 1)[1])

    def write_calls(self) -> list[str]:
        writes = ("create_model", "create_endpoint_config", "create_endpoint", "update_endpoint")
        return [op for op, _ in self.calls if op in writes]

    def _emit(self, name: str) -> None:
        ep = self.endpoints[name]
        self.events.append(
            EndpointChange(
                event_id=f"ep-{next(self._seq)}",
                time=None,
                endpoint=name,
                account=SERVING,
                region=REGION,
                status=ep.status,
            )
        )


def package_event(
    package: FakePackage, *, event_id: str | None = None, has_spec: bool | None = None
) -> ModelPackageChange:
    return ModelPackageChange(
        event_id=event_id or f"pkg-{package.version}-{package.approval}-{package.stage}",
        time=None,
        group=package.group,
        package_arn=package.arn,
        version=package.version,
        approval_status=package.approval,
        stage=package.stage,
        has_inference_spec=package.has_spec if has_spec is None else has_spec,
        approved_by="arn:aws:sts::111111111111:assumed-role/mlops-fraud-approver/alice",
        approval_description="looks good",
        stage_status=package.stage_status if package.stage else None,
    )


SWEEP = Sweep(event_id="sweep", time=None)


# --- ledger and SNS ------------------------------------------------------------------------------------


class FakeLedger:
    """Same interface as deployer.ledger.Ledger; optionally checks serving versions against SageMaker."""

    def __init__(self, sagemaker: FakeSageMaker | None = None) -> None:
        self.items: dict[str, list[LedgerEntry]] = {}
        self.sagemaker = sagemaker
        self.mismatches: list[str] = []
        self.queries = 0
        self._now = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

    def recent(self, key: str, limit: int = 25) -> list[LedgerEntry]:
        self.queries += 1
        return list(reversed(self.items.get(key, [])))[:limit]

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        self._now += timedelta(seconds=1)
        key = entry.endpoint_id or endpoint_id(entry.account, entry.region, entry.endpoint)
        stored = dataclasses.replace(entry, endpoint_id=key, at=format_at(self._now))
        self.items.setdefault(key, []).append(stored)
        if self.sagemaker is not None and stored.status in ("live", "rolled_back"):
            actual = self.sagemaker.serving_version(stored.endpoint)
            if actual != stored.serving_version:
                self.mismatches.append(
                    f"{stored.status} item says v{stored.serving_version}, endpoint serves v{actual}"
                )
        return stored

    def all(self, key: str) -> list[LedgerEntry]:
        return list(self.items.get(key, []))


class FakeNotifier:
    def __init__(self) -> None:
        self.transitions: list[LedgerEntry] = []
        self.problems: list[tuple[str, str]] = []
        self.contexts: list[dict[str, Any]] = []  # each problem's context (index, endpoint, ...)

    def transition(self, entry: LedgerEntry) -> None:
        self.transitions.append(entry)

    def problem(self, title: str, reason: str, **context: Any) -> None:
        self.problems.append((title, reason))
        self.contexts.append(context)


@dataclass
class LambdaContext:
    """Fake Lambda context (the attributes the runtime provides)."""

    function_name: str = "mlops-deployer"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{REGISTRY}:function:mlops-deployer"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "6f1c9c4e-2f1a-4b7e-9d3c-0a1b2c3d4e5f"
    log_group_name: str = "/aws/lambda/mlops-deployer"
    log_stream_name: str = "2026/11/20/[$LATEST]0123456789abcdef"
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
