"""The Lambda environment (docs/contracts.md), parsed once into validated frozen dataclasses.

One bad deployment entry must not stop the others (and must not crash-loop the function): it is
kept in ``Settings.invalid`` with a reason that names the key, the bad value and what is allowed;
the service records and notifies it when a trigger touches it. Only a missing or unreadable
top-level variable raises ``SettingsError``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer.admission import AdmissionRules
from deployer.errors import SettingsError

STRATEGIES = ("canary", "linear", "all_at_once", "rolling")
CAPACITY_TYPES = ("CAPACITY_PERCENT", "INSTANCE_COUNT")
# UpdateEndpoint limits (DESIGN section 6).
MAX_WAIT_SECONDS = 3600
MIN_EXECUTION_TIMEOUT = 600
MAX_EXECUTION_TIMEOUT = 28800
EXECUTION_MARGIN_SECONDS = 3600
MAX_ALARMS = 10

_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_GROUP_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package-group/[a-zA-Z0-9-]{1,63}$"
)
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")


@dataclass(frozen=True)
class Rollout:
    strategy: str  # canary | linear | all_at_once | rolling
    step_percent: int = 0
    wait_seconds: int = 0
    bake_seconds: int = 0
    # rolling only: CapacitySize (type, value) of a batch and of a rollback batch, number of batches
    batch: tuple[str, int] | None = None
    rollback_batch: tuple[str, int] | None = None
    batches: int = 0
    max_execution: int | None = None

    @property
    def total_wait_seconds(self) -> int:
        """Seconds the traffic shift waits by design (provisioning time comes on top)."""
        if self.strategy == "rolling":
            return self.batches * self.wait_seconds
        if self.strategy == "canary":
            shifts = self.wait_seconds
        elif self.strategy == "linear":
            shifts = (math.ceil(100 / self.step_percent) - 1) * self.wait_seconds
        else:
            shifts = 0
        return shifts + self.bake_seconds

    @property
    def max_execution_seconds(self) -> int:
        if self.max_execution is not None:
            return self.max_execution
        return max(
            MIN_EXECUTION_TIMEOUT,
            min(MAX_EXECUTION_TIMEOUT, self.total_wait_seconds + EXECUTION_MARGIN_SECONDS),
        )

    def as_dict(self) -> dict[str, Any]:
        if self.strategy == "rolling":
            return rolling_as_dict(self)
        if self.strategy == "all_at_once":
            return {"strategy": self.strategy, "bake_seconds": self.bake_seconds}
        return {
            "strategy": self.strategy,
            "step_percent": self.step_percent,
            "wait_seconds": self.wait_seconds,
            "bake_seconds": self.bake_seconds,
        }


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    group: str
    group_arn: str
    account: str
    region: str
    follows: str
    instance_type: str
    instance_count: int
    rollout: Rollout
    alarms: tuple[str, ...]
    execution_role_arn: str
    deploy_role_arn: str | None
    admission: AdmissionRules | None = None  # None: no admission checks (deployer.admission)
    network_isolation: bool = True  # CreateModel EnableNetworkIsolation

    @property
    def endpoint_id(self) -> str:
        return f"{self.account}/{self.region}/{self.endpoint}"

    @property
    def registry_region(self) -> str:
        return self.group_arn.split(":")[3]

    def package_arn(self, version: int) -> str:
        """ARN of a version of this deployment's group (SageMaker's own ARN scheme)."""
        prefix, _, name = self.group_arn.partition(":model-package-group/")
        return f"{prefix}:model-package/{name}/{version}"


ON_REMOVE = ("delete", "keep")


@dataclass(frozen=True)
class RetiredEndpoint:
    """A DEPLOYMENTS entry with ``on_remove``: an endpoint taken out of the config's deployments."""

    endpoint: str
    account: str
    region: str
    on_remove: str  # delete | keep
    deploy_role_arn: str | None

    @property
    def endpoint_id(self) -> str:
        return f"{self.account}/{self.region}/{self.endpoint}"


def parse_retired(item: dict[str, Any], *, where: str) -> RetiredEndpoint:
    f = _Fields(item, where)
    on_remove = item.get("on_remove")
    if on_remove not in ON_REMOVE:
        raise ValueError(f"{where}.on_remove: {on_remove!r}: allowed values are {', '.join(ON_REMOVE)}")
    deploy_role = item.get("deploy_role_arn")
    return RetiredEndpoint(
        endpoint=f.text("endpoint", _ENDPOINT_NAME, "1-63 letters, digits and hyphens"),
        account=f.text("account", _ACCOUNT, "a 12-digit account id"),
        region=f.text("region", _REGION, "a region name such as eu-west-1"),
        on_remove=on_remove,
        deploy_role_arn=None
        if deploy_role is None
        else f.text("deploy_role_arn", _ROLE_ARN, "an IAM role ARN or null"),
    )


@dataclass(frozen=True)
class InvalidDeployment:
    """A DEPLOYMENTS entry that failed validation; identity fields are kept where readable."""

    index: int
    reason: str
    endpoint: str | None = None
    group: str | None = None
    account: str | None = None
    region: str | None = None

    @property
    def endpoint_id(self) -> str | None:
        if self.endpoint and self.account and self.region:
            return f"{self.account}/{self.region}/{self.endpoint}"
        return None


@dataclass(frozen=True)
class Settings:
    ledger_table: str
    topic_arn: str
    registry_account: str
    deployments: tuple[Deployment, ...]
    invalid: tuple[InvalidDeployment, ...] = ()
    retired: tuple[RetiredEndpoint, ...] = ()

    def for_group(self, group: str) -> tuple[Deployment, ...]:
        return tuple(d for d in self.deployments if d.group == group)

    def for_endpoint(self, name: str, account: str | None, region: str | None) -> tuple[Deployment, ...]:
        # Endpoint names are case-insensitive in SageMaker (ARNs carry them lower-cased).
        return tuple(
            d
            for d in self.deployments
            if d.endpoint.lower() == name.lower()
            and (account is None or d.account == account)
            and (region is None or d.region == region)
        )

    def invalid_for_group(self, group: str) -> tuple[InvalidDeployment, ...]:
        return tuple(i for i in self.invalid if i.group == group)

    def invalid_for_endpoint(self, name: str) -> tuple[InvalidDeployment, ...]:
        return tuple(i for i in self.invalid if i.endpoint and i.endpoint.lower() == name.lower())


def _read_deployments_file(name: str) -> str:
    """The stack ships the deployments next to the code (Lambda caps environment variables at 4 KB);
    a relative path is resolved against the code root (the directory holding the `deployer` package)."""
    path = Path(name)
    if not path.is_absolute():
        path = Path(__file__).resolve().parents[1] / path
    try:
        return path.read_text()
    except OSError as exc:
        raise SettingsError(f"DEPLOYMENTS_FILE={name!r} cannot be read: {exc}") from exc


def load_settings(env: Mapping[str, str]) -> Settings:
    """Parse the deployer's environment. Raises SettingsError only for the top-level variables."""
    missing = [k for k in ("LEDGER_TABLE", "TOPIC_ARN", "REGISTRY_ACCOUNT") if not env.get(k)]
    if not env.get("DEPLOYMENTS") and not env.get("DEPLOYMENTS_FILE"):
        missing.append("DEPLOYMENTS (or DEPLOYMENTS_FILE)")
    if missing:
        raise SettingsError(f"environment variable(s) {', '.join(missing)} missing or empty")
    if not _ACCOUNT.match(env["REGISTRY_ACCOUNT"]):
        raise SettingsError(f"REGISTRY_ACCOUNT={env['REGISTRY_ACCOUNT']!r}: expected a 12-digit account id")
    try:
        raw = json.loads(env.get("DEPLOYMENTS") or _read_deployments_file(env["DEPLOYMENTS_FILE"]))
    except json.JSONDecodeError as exc:
        raise SettingsError(f"DEPLOYMENTS is not valid JSON: {exc}") from exc
    if not isinstance(raw, list):
        raise SettingsError(f"DEPLOYMENTS must be a JSON list of objects, got {type(raw).__name__}")

    valid: list[Deployment] = []
    invalid: list[InvalidDeployment] = []
    seen: set[str] = set()
    retired: list[RetiredEndpoint] = []
    for index, item in enumerate(raw):
        try:
            if isinstance(item, dict) and "on_remove" in item:
                retired.append(parse_retired(item, where=f"DEPLOYMENTS[{index}]"))
                continue
            deployment = parse_deployment(item, where=f"DEPLOYMENTS[{index}]")
            if deployment.endpoint_id in seen:
                raise ValueError(
                    f"DEPLOYMENTS[{index}].endpoint: {deployment.endpoint_id!r} is configured twice"
                )
            seen.add(deployment.endpoint_id)
            valid.append(deployment)
        except ValueError as exc:
            fields = item if isinstance(item, dict) else {}
            invalid.append(
                InvalidDeployment(
                    index=index,
                    reason=str(exc),
                    endpoint=_str_or_none(fields.get("endpoint")),
                    group=_str_or_none(fields.get("group")),
                    account=_str_or_none(fields.get("account")),
                    region=_str_or_none(fields.get("region")),
                )
            )
    return Settings(
        ledger_table=env["LEDGER_TABLE"],
        topic_arn=env["TOPIC_ARN"],
        registry_account=env["REGISTRY_ACCOUNT"],
        deployments=tuple(valid),
        invalid=tuple(invalid),
        retired=tuple(retired),
    )


def parse_deployment(item: Any, *, where: str = "deployment") -> Deployment:
    """Validate one DEPLOYMENTS entry; ValueError names the key, the value and what is allowed."""
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected an object, got {type(item).__name__}")
    f = _Fields(item, where)
    endpoint = f.text("endpoint", _ENDPOINT_NAME, "1-63 letters, digits and hyphens")
    group = f.text("group", _ENDPOINT_NAME, "1-63 letters, digits and hyphens")
    group_arn = f.text("group_arn", _GROUP_ARN, "a model-package-group ARN")
    if not group_arn.endswith(f"/{group}"):
        raise ValueError(f"{where}.group_arn: {group_arn!r} does not name group {group!r}")
    account = f.text("account", _ACCOUNT, "a 12-digit account id")
    region = f.text("region", _REGION, "a region name such as eu-west-1")
    follows = f.text("follows", re.compile(r"^\S{1,64}$"), "'Approved' or a lifecycle stage name")
    instance_type = f.text("instance_type", _INSTANCE_TYPE, "a SageMaker instance type such as ml.m5.large")
    instance_count = f.integer("instance_count", 1, 1000)
    execution_role_arn = f.text("execution_role_arn", _ROLE_ARN, "an IAM role ARN")
    deploy_role = item.get("deploy_role_arn")
    if deploy_role is not None:
        deploy_role = f.text("deploy_role_arn", _ROLE_ARN, "an IAM role ARN or null")
    alarms = item.get("alarms")
    if (
        not isinstance(alarms, list)
        or not 1 <= len(alarms) <= MAX_ALARMS
        or not all(isinstance(a, str) and 0 < len(a) <= 255 for a in alarms)
    ):
        raise ValueError(f"{where}.alarms: {alarms!r}: expected a list of 1-{MAX_ALARMS} alarm names")
    rollout = parse_rollout(item.get("rollout"), where=f"{where}.rollout")
    return Deployment(
        endpoint=endpoint,
        group=group,
        group_arn=group_arn,
        account=account,
        region=region,
        follows=follows,
        instance_type=instance_type,
        instance_count=instance_count,
        rollout=rollout,
        alarms=tuple(alarms),
        execution_role_arn=execution_role_arn,
        deploy_role_arn=deploy_role,
        admission=AdmissionRules.parse(item["admission"], f"{where}.admission")
        if "admission" in item
        else None,
        network_isolation=_network_isolation(item.get("network_isolation", True), where),
    )


def _network_isolation(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}.network_isolation: {value!r}: expected true or false")
    return value


def rolling_as_dict(rollout: Rollout) -> dict[str, Any]:
    data: dict[str, Any] = {
        "strategy": "rolling",
        "wait_seconds": rollout.wait_seconds,
        "batches": rollout.batches,
    }
    for key, size in (("batch", rollout.batch), ("rollback_batch", rollout.rollback_batch)):
        if size:
            data[key] = {"type": size[0], "value": size[1]}
    if rollout.max_execution is not None:
        data["max_execution_seconds"] = rollout.max_execution
    return data


def _capacity(raw: Any, where: str, low: int, high: int) -> tuple[str, int]:
    if not isinstance(raw, dict) or raw.get("type") not in CAPACITY_TYPES:
        raise ValueError(
            f"{where}: {raw!r}: expected {{'type': {' | '.join(CAPACITY_TYPES)}, 'value': integer}}"
        )
    top = high if raw["type"] == "CAPACITY_PERCENT" else 1000
    return raw["type"], _Fields(raw, where).integer(
        "value", low if raw["type"] == "CAPACITY_PERCENT" else 1, top
    )


def parse_rolling(raw: dict[str, Any], *, where: str) -> Rollout:
    """`strategy: rolling` (stacks/config.py validated it against RollingUpdatePolicy's limits)."""
    f = _Fields(raw, where)
    rollout = Rollout(
        strategy="rolling",
        wait_seconds=f.integer("wait_seconds", 0, MAX_WAIT_SECONDS),
        batch=_capacity(raw.get("batch"), f"{where}.batch", 5, 50),
        rollback_batch=(
            _capacity(raw["rollback_batch"], f"{where}.rollback_batch", 5, 100)
            if raw.get("rollback_batch")
            else None
        ),
        batches=f.integer("batches", 1, 1000),
        max_execution=(
            f.integer("max_execution_seconds", MIN_EXECUTION_TIMEOUT, MAX_EXECUTION_TIMEOUT)
            if raw.get("max_execution_seconds") is not None
            else None
        ),
    )
    if (
        rollout.max_execution is None
        and rollout.total_wait_seconds + MIN_EXECUTION_TIMEOUT > MAX_EXECUTION_TIMEOUT
    ):
        raise ValueError(
            f"{where}: the waits add up to {rollout.total_wait_seconds} s; they must leave room inside "
            f"SageMaker's {MAX_EXECUTION_TIMEOUT} s maximum execution timeout"
        )
    return rollout


def parse_rollout(raw: Any, *, where: str = "rollout") -> Rollout:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object with 'strategy', got {raw!r}")
    strategy = raw.get("strategy")
    if strategy not in STRATEGIES:
        raise ValueError(f"{where}.strategy: {strategy!r}: allowed values are {', '.join(STRATEGIES)}")
    if strategy == "rolling":
        return parse_rolling(raw, where=where)
    if strategy == "all_at_once":
        extra = sorted(k for k in ("step_percent", "wait_seconds") if k in raw)
        if extra:
            raise ValueError(f"{where}: {', '.join(extra)} not allowed for strategy 'all_at_once'")
        bake = (
            _Fields(raw, where).integer("bake_seconds", 0, MAX_WAIT_SECONDS) if "bake_seconds" in raw else 0
        )
        return Rollout(strategy="all_at_once", bake_seconds=bake)
    f = _Fields(raw, where)
    low, high = (1, 50) if strategy == "canary" else (10, 50)
    rollout = Rollout(
        strategy=strategy,
        step_percent=f.integer("step_percent", low, high),
        wait_seconds=f.integer("wait_seconds", 0, MAX_WAIT_SECONDS),
        bake_seconds=f.integer("bake_seconds", 0, MAX_WAIT_SECONDS),
    )
    if rollout.total_wait_seconds + MIN_EXECUTION_TIMEOUT > MAX_EXECUTION_TIMEOUT:
        raise ValueError(
            f"{where}: the waits add up to {rollout.total_wait_seconds} s; they must leave room inside "
            f"SageMaker's {MAX_EXECUTION_TIMEOUT} s maximum execution timeout"
        )
    return rollout


class _Fields:
    def __init__(self, raw: dict[str, Any], where: str) -> None:
        self.raw = raw
        self.where = where

    def text(self, key: str, pattern: re.Pattern[str], allowed: str) -> str:
        value = self.raw.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError(f"{self.where}.{key}: {value!r}: expected {allowed}")
        return value

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{self.where}.{key}: {value!r}: expected an integer from {low} to {high}")
        return value


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
