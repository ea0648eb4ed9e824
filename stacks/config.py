"""Typed, validated project configuration: the one file a platform engineer edits.

`load_config(path)` parses YAML into frozen dataclasses. Every invalid value raises `ConfigError` with
the key path, the bad value and what is allowed, so `cdk synth` fails with one clear message.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from botocore.session import Session as _BotocoreSession

ACCOUNT_RE = re.compile(r"^\d{12}$")
ORG_ID_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
TEAM_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
# SageMaker names (model package groups, endpoints): ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$
SAGEMAKER_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
STAGE_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$")
# Endpoint names end up inside generated model/config names ("<endpoint>-v<N>-<hash>", 63 chars max).
MAX_ENDPOINT_NAME = 40

APPROVED = "Approved"
# Lifecycle stage names an endpoint may follow when `registry.stages` is not set: the Model Registry's
# predefined stage constructs (https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-staging-construct-set-up.html)
# plus Staging. `mlops rollback` moves versions taken out of a followed stage to Archived.
DEFAULT_STAGES = ("Proposal", "Development", "QA", "Staging", "PreProduction", "Production", "Archived")
STRATEGIES = ("all_at_once", "canary", "linear", "rolling")
# Documented limits of UpdateEndpoint's BlueGreenUpdatePolicy (see DESIGN section 6).
CANARY_PERCENT = (1, 50)
LINEAR_PERCENT = (10, 50)
WAIT_SECONDS = (0, 3600)
BAKE_SECONDS = (0, 3600)
# Every strategy bakes by default: SageMaker watches the rollback alarms only during the wait and
# baking periods (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
DEFAULT_BAKE_SECONDS = 300
# RollingUpdatePolicy (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_RollingUpdatePolicy.html):
# MaximumBatchSize 5-50% of the variant's instances, WaitIntervalInSeconds 0-3600,
# MaximumExecutionTimeoutInSeconds 600-28800, RollbackMaximumBatchSize default 100%.
ROLLING_BATCH_PERCENT = (5, 50)
ROLLING_ROLLBACK_PERCENT = (5, 100)
MAX_EXECUTION_SECONDS = (600, 28800)
MAX_TEAM_STACKS = 100
# Without an organization id, every group's policy lists the team accounts that may discover it; this
# ceiling keeps each policy and template small (stacks/placement.py estimates). With one, discovery is
# granted organization-wide in one constant-size statement.
MAX_DISCOVERY_ACCOUNTS_WITHOUT_ORG = 100


class ConfigError(ValueError):
    """A configuration value is invalid. The message names the key path, the value and what is allowed."""

    def __init__(self, path: str, value: Any, allowed: str) -> None:
        self.path, self.value, self.allowed = path, value, allowed
        super().__init__(f"config error at '{path}': {value!r} is not allowed; {allowed}")


@functools.cache  # botocore's endpoint data does not change while the process runs; 0.2 s per parse
def known_regions() -> frozenset[str]:
    """Region names SageMaker exists in, from botocore's bundled endpoint data (offline)."""
    session = _BotocoreSession()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("sagemaker", partition_name=partition))
    return frozenset(regions)


@dataclass(frozen=True)
class RollingBatches:
    """`rollout.strategy: rolling`: batch and rollback batch as (CAPACITY_PERCENT | INSTANCE_COUNT, value)."""

    batch: tuple[str, int]
    batches: int  # how many batches the fleet takes (the deployer sizes the timeout from it)
    rollback_batch: tuple[str, int] | None = None  # None: SageMaker's default, 100% at once
    max_execution_seconds: int | None = None  # None: the deployer derives it from the waits

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "batch": {"type": self.batch[0], "value": self.batch[1]},
            "batches": self.batches,
        }
        if self.rollback_batch:
            data["rollback_batch"] = {"type": self.rollback_batch[0], "value": self.rollback_batch[1]}
        if self.max_execution_seconds is not None:
            data["max_execution_seconds"] = self.max_execution_seconds
        return data


@dataclass(frozen=True)
class Rollout:
    strategy: str = "all_at_once"
    step_percent: int | None = None
    wait_seconds: int | None = None
    bake_seconds: int = DEFAULT_BAKE_SECONDS
    rolling: RollingBatches | None = None  # strategy rolling: batches wait instead of a bake

    def as_dict(self) -> dict[str, Any]:
        if self.rolling is not None:
            return {"strategy": self.strategy, "wait_seconds": self.wait_seconds, **self.rolling.as_dict()}
        # bake_seconds is TerminationWaitInSeconds for every strategy: the rollback alarms act only
        # during the wait and baking periods, so an all_at_once update without it cannot roll back.
        data: dict[str, Any] = {"strategy": self.strategy}
        if self.strategy != "all_at_once":
            data.update(step_percent=self.step_percent, wait_seconds=self.wait_seconds)
        data["bake_seconds"] = self.bake_seconds
        return data


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    model_group: str
    account: str
    region: str
    follows: str
    instance_type: str
    instance_count: int
    rollout: Rollout
    # EnableNetworkIsolation of the models the deployer creates: no network in or out of the containers
    network_isolation: bool = True


@dataclass(frozen=True)
class RetiredEndpoint:
    """An endpoint the deployer managed, taken out of the config's `deployments` on purpose."""

    endpoint: str
    account: str
    region: str
    on_remove: str  # "delete": the deployer deletes it; "keep": left running, no longer managed


@dataclass(frozen=True)
class Pipeline:
    model_group: str
    training_instance_type: str = "ml.m5.xlarge"
    evaluation_instance_type: str = "ml.m5.large"
    metric_threshold: float = 0.8
    schedule: str | None = None


@dataclass(frozen=True)
class Team:
    name: str
    account: str
    approver_account: str
    model_groups: tuple[str, ...]
    pipeline: Pipeline | None = None
    # aws:PrincipalArn patterns that may assume the publisher / approver role (empty: the whole account)
    publisher_principals: tuple[str, ...] = ()
    approver_principals: tuple[str, ...] = ()
    # lifecycle stage -> accounts and/or principal ARN patterns that alone may move a version there
    stage_approvers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # ECR repositories the project creates in the team account, pullable by the team's execution roles
    image_repositories: tuple[str, ...] = ()

    @property
    def reserved_stages(self) -> tuple[str, ...]:
        return tuple(stage for stage, _ in self.stage_approvers)


@dataclass(frozen=True)
class Registry:
    account: str
    region: str
    organization_id: str | None = None
    team_stacks: int = 1
    stages: tuple[str, ...] = DEFAULT_STAGES
    # Accounts whose ECR images the deployer admits (None: the owning team's account, the registry account
    # and SageMaker's own image account of the region); digests required when require_image_digest.
    allowed_image_accounts: tuple[str, ...] | None = None
    require_image_digest: bool = False


@dataclass(frozen=True)
class ProjectConfig:
    registry: Registry
    teams: tuple[Team, ...]
    deployments: tuple[Deployment, ...] = field(default=())
    retired: tuple[RetiredEndpoint, ...] = field(default=())
    # Suspicious but valid settings; app.py prints them on every synth.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def group_owner(self, group: str) -> Team:
        return next(team for team in self.teams if group in team.model_groups)

    @property
    def team_accounts(self) -> tuple[str, ...]:
        """Distinct team accounts (where data scientists work), sorted. Approver accounts act only
        through the approver role in the registry account, so they are not listed here."""
        return tuple(sorted({t.account for t in self.teams}))

    @property
    def serving_targets(self) -> tuple[tuple[str, str], ...]:
        """(account, region) pairs that host at least one endpoint outside the registry account/region."""
        here = (self.registry.account, self.registry.region)
        return tuple(sorted({(d.account, d.region) for d in self.deployments} - {here}))

    def deployments_of(self, group: str) -> tuple[Deployment, ...]:
        return tuple(d for d in self.deployments if d.model_group == group)

    @property
    def pipeline_teams(self) -> tuple[Team, ...]:
        return tuple(t for t in self.teams if t.pipeline)


# --------------------------------------------------------------------------- parsing helpers


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, value, "expected a mapping of keys to values")
    return value


def _only_keys(data: Mapping[str, Any], path: str, required: set[str], optional: set[str]) -> None:
    allowed = required | optional
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{path}.{key}" if path else str(key), key, f"allowed keys: {sorted(allowed)}")
    for key in sorted(required - set(data)):
        raise ConfigError(f"{path}.{key}" if path else key, None, "this key is required")


def _account(value: Any, path: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ConfigError(
            path,
            value,
            "an account id must be a quoted string of 12 digits (YAML reads unquoted digits as a number)",
        )
    if not isinstance(value, str) or not ACCOUNT_RE.match(value):
        raise ConfigError(path, value, "an AWS account id is exactly 12 digits (quote it)")
    return value


def _region(value: Any, path: str, regions: frozenset[str]) -> str:
    if not isinstance(value, str) or value not in regions:
        raise ConfigError(path, value, f"a SageMaker region name, one of: {', '.join(sorted(regions))}")
    return value


def _int(value: Any, path: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(path, value, f"an integer from {low} to {high}")
    return value


def _did_you_mean(value: Any, choices: Any) -> str:
    if not isinstance(value, str):
        return ""
    by_lower = {choice.lower(): choice for choice in choices}
    close = [by_lower[value.lower()]] if value.lower() in by_lower else []
    close += [c for c in difflib.get_close_matches(value, list(choices), n=2, cutoff=0.75) if c not in close]
    return f"; did you mean {' or '.join(repr(c) for c in close[:2])}?" if close else ""


def _instance_types(shape: str) -> tuple[str, ...]:
    """Valid instance types of a SageMaker API shape, from botocore's bundled service model (offline)."""
    model = _BotocoreSession().get_service_model("sagemaker")
    return tuple(model.shape_for(shape).enum)


_INSTANCE_TYPES: dict[str, tuple[str, ...]] = {}


def _instance_type(value: Any, path: str, shape: str) -> str:
    """An instance type the API accepts (ProductionVariantInstanceType, TrainingInstanceType, ...)."""
    if shape not in _INSTANCE_TYPES:
        _INSTANCE_TYPES[shape] = _instance_types(shape)
    valid = _INSTANCE_TYPES[shape]
    if not isinstance(value, str) or value not in valid:
        family = value.rsplit(".", 1)[0] + "." if isinstance(value, str) and value.count(".") == 2 else None
        examples = [t for t in valid if family and t.startswith(family)][:6] or [
            t for t in ("ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge") if t in valid
        ]
        raise ConfigError(
            path,
            value,
            f"an instance type SageMaker accepts here ({shape} in botocore's service model), such as "
            f"{', '.join(examples)}{_did_you_mean(value, valid)}",
        )
    return value


def _name(value: Any, path: str, pattern: re.Pattern[str], allowed: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(path, value, allowed)
    return value


# --------------------------------------------------------------------------- sections


def _parse_registry(raw: Any, regions: frozenset[str]) -> Registry:
    data = _mapping(raw, "registry")
    _only_keys(
        data,
        "registry",
        {"account", "region"},
        {"organization_id", "team_stacks", "stages", "allowed_image_accounts", "require_image_digest"},
    )
    org = data.get("organization_id")
    if org is not None and (not isinstance(org, str) or not ORG_ID_RE.match(org)):
        raise ConfigError("registry.organization_id", org, "an AWS Organizations id like o-a1b2c3d4e5")
    images = data.get("allowed_image_accounts")
    if images is not None:
        if not isinstance(images, list) or not images:
            raise ConfigError(
                "registry.allowed_image_accounts", images, "a non-empty list of quoted 12-digit account ids"
            )
        images = tuple(_account(a, f"registry.allowed_image_accounts[{i}]") for i, a in enumerate(images))
    digest = data.get("require_image_digest", False)
    if not isinstance(digest, bool):
        raise ConfigError("registry.require_image_digest", digest, "true or false")
    return Registry(
        account=_account(data["account"], "registry.account"),
        region=_region(data["region"], "registry.region", regions),
        organization_id=org,
        team_stacks=_int(data.get("team_stacks", 1), "registry.team_stacks", 1, MAX_TEAM_STACKS),
        stages=_parse_stages(data.get("stages")),
        allowed_image_accounts=images,
        require_image_digest=digest,
    )


def _parse_stages(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return DEFAULT_STAGES
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            "registry.stages", raw, "a non-empty list of lifecycle stage names, e.g. [Staging, Production]"
        )
    for index, stage in enumerate(raw):
        _name(
            stage,
            f"registry.stages[{index}]",
            SAGEMAKER_NAME_RE,
            "a lifecycle stage name: 1-63 letters, digits and hyphens",
        )
        if stage.lower() == APPROVED.lower():
            raise ConfigError(
                f"registry.stages[{index}]", stage, "'Approved' is the approval status, not a stage name"
            )
    if len({s.lower() for s in raw}) != len(raw):
        raise ConfigError("registry.stages", raw, "each stage name once (names differing only in case clash)")
    return tuple(raw)


def _parse_teams(raw: Any) -> tuple[Team, ...]:
    data = _mapping(raw, "teams")
    if not data:
        raise ConfigError("teams", raw, "configure at least one team")
    teams: list[Team] = []
    owner_of: dict[str, str] = {}
    for name, team_raw in data.items():
        path = f"teams.{name}"
        _name(name, path, TEAM_RE, "team names are 1-32 lowercase letters, digits and hyphens")
        team = _mapping(team_raw, path)
        _only_keys(
            team,
            path,
            {"account", "model_groups"},
            {
                "approver_account",
                "pipeline",
                "publisher_principals",
                "approver_principals",
                "stage_approvers",
                "image_repositories",
            },
        )
        account = _account(team["account"], f"{path}.account")
        approver = _account(team.get("approver_account", account), f"{path}.approver_account")
        groups = team["model_groups"]
        if not isinstance(groups, list) or not groups:
            raise ConfigError(f"{path}.model_groups", groups, "a non-empty list of model package group names")
        for index, group in enumerate(groups):
            gpath = f"{path}.model_groups[{index}]"
            _name(
                group,
                gpath,
                SAGEMAKER_NAME_RE,
                "1-63 letters, digits and hyphens, starting with a letter or digit",
            )
            if group in owner_of:
                raise ConfigError(
                    gpath,
                    group,
                    f"group names are unique across teams; already used by team '{owner_of[group]}'",
                )
            owner_of[group] = name
        pipeline = _parse_pipeline(team.get("pipeline"), f"{path}.pipeline", groups)
        teams.append(
            Team(
                name=name,
                account=account,
                approver_account=approver,
                model_groups=tuple(groups),
                pipeline=pipeline,
                publisher_principals=_principal_patterns(
                    team.get("publisher_principals"), f"{path}.publisher_principals", account
                ),
                approver_principals=_principal_patterns(
                    team.get("approver_principals"), f"{path}.approver_principals", approver
                ),
                stage_approvers=_parse_stage_approvers(
                    team.get("stage_approvers"), f"{path}.stage_approvers"
                ),
                image_repositories=_image_repositories(
                    team.get("image_repositories"), f"{path}.image_repositories"
                ),
            )
        )
    return tuple(teams)


# ECR repository names (CreateRepository: 2-256 characters,
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html)
ECR_REPOSITORY_RE = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")


def _image_repositories(raw: Any, path: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise ConfigError(path, raw, "a non-empty list of ECR repository names")
    names: list[str] = []
    for index, name in enumerate(raw):
        where = f"{path}[{index}]"
        if not isinstance(name, str) or not 2 <= len(name) <= 256 or not ECR_REPOSITORY_RE.match(name):
            raise ConfigError(
                where,
                name,
                "an ECR repository name: 2-256 lowercase letters, digits, '.', '_', '-' and '/' "
                "(e.g. fraud/inference)",
            )
        if name in names:
            raise ConfigError(where, name, "each repository once")
        names.append(name)
    return tuple(names)


# An IAM principal ARN pattern for aws:PrincipalArn: a role, user or root of one account; '*' and '?'
# are allowed in the name (ArnLike). Session ARNs are not: aws:PrincipalArn carries the role's ARN.
PRINCIPAL_ARN_RE = re.compile(
    r"^arn:aws(-cn|-us-gov)?:iam::(\d{12}):(root|(role|user)/[\w+=,.@*?/-]{1,512})$"
)
STAGE_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # ModelLifeCycle.Stage (SageMaker API)


def _principal_pattern(value: Any, path: str) -> str:
    if not isinstance(value, str) or not PRINCIPAL_ARN_RE.match(value):
        raise ConfigError(
            path,
            value,
            "an IAM principal ARN pattern such as arn:<partition>:iam::<account id>:role/approvers-* "
            "(a role, user or root; '*' and '?' allowed in the name)",
        )
    return value


def _principal_patterns(raw: Any, path: str, account: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise ConfigError(path, raw, "a non-empty list of IAM principal ARN patterns")
    patterns = []
    for index, value in enumerate(raw):
        pattern = _principal_pattern(value, f"{path}[{index}]")
        owner = PRINCIPAL_ARN_RE.match(pattern).group(2)  # type: ignore[union-attr]
        if owner != account:
            raise ConfigError(
                f"{path}[{index}]", value, f"a principal of account {account}, the account this role trusts"
            )
        patterns.append(pattern)
    return tuple(patterns)


def _parse_stage_approvers(raw: Any, path: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if raw is None:
        return ()
    data = _mapping(raw, path)
    result = []
    for stage, approvers in data.items():
        spath = f"{path}.{stage}"
        _name(stage, spath, STAGE_NAME_RE, "a lifecycle stage name: 1-63 letters, digits and hyphens")
        if not isinstance(approvers, list) or not approvers:
            raise ConfigError(
                spath, approvers, "a non-empty list of account ids and/or principal ARN patterns"
            )
        entries = []
        for index, value in enumerate(approvers):
            epath = f"{spath}[{index}]"
            if isinstance(value, str) and value.startswith("arn:"):
                entries.append(_principal_pattern(value, epath))
            else:
                entries.append(_account(value, epath))
        result.append((stage, tuple(entries)))
    return tuple(result)


def _check_stage_approvers(config: ProjectConfig) -> None:
    """Stage approver accounts must be accounts this config knows (a typo would trust a stranger)."""
    known = {config.registry.account, *config.team_accounts}
    known.update(t.approver_account for t in config.teams)
    known.update(d.account for d in config.deployments)
    for team in config.teams:
        for stage, entries in team.stage_approvers:
            if stage not in config.registry.stages:
                raise ConfigError(
                    f"teams.{team.name}.stage_approvers.{stage}",
                    stage,
                    f"a stage of registry.stages: {', '.join(config.registry.stages)}",
                )
            for index, entry in enumerate(entries):
                match = PRINCIPAL_ARN_RE.match(entry)
                account = match.group(2) if match else entry
                if account not in known:
                    raise ConfigError(
                        f"teams.{team.name}.stage_approvers.{stage}[{index}]",
                        entry,
                        f"an account of this config (registry, team, approver or serving account): "
                        f"{', '.join(sorted(known))}",
                    )


SCHEDULE_RE = re.compile(r"^(cron|rate)\(.+\)$")
MAX_PIPELINE_TEAMS = 20  # each adds a statement to the artifact bucket policy (20 KB limit)


def _parse_pipeline(raw: Any, path: str, groups: list[str]) -> Pipeline | None:
    if raw is None:
        return None
    data = _mapping(raw, path)
    _only_keys(
        data,
        path,
        set(),
        {
            "enabled",
            "model_group",
            "training_instance_type",
            "evaluation_instance_type",
            "metric_threshold",
            "schedule",
        },
    )
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{path}.enabled", enabled, "true or false")
    if not enabled:
        return None
    group = data.get("model_group", groups[0])
    if group not in groups:
        raise ConfigError(f"{path}.model_group", group, f"one of the team's groups: {', '.join(groups)}")
    threshold = data.get("metric_threshold", 0.8)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise ConfigError(f"{path}.metric_threshold", threshold, "a number from 0 to 1 (the minimum AUC)")
    schedule = data.get("schedule")
    if schedule is not None and (not isinstance(schedule, str) or not SCHEDULE_RE.match(schedule)):
        raise ConfigError(
            f"{path}.schedule", schedule, "an EventBridge Scheduler expression: cron(...) or rate(...)"
        )
    types = {
        key: _instance_type(data.get(key, default), f"{path}.{key}", shape)
        for key, default, shape in (
            ("training_instance_type", "ml.m5.xlarge", "TrainingInstanceType"),
            ("evaluation_instance_type", "ml.m5.large", "ProcessingInstanceType"),
        )
    }
    return Pipeline(model_group=group, metric_threshold=float(threshold), schedule=schedule, **types)


def _parse_rollout(raw: Any, path: str, instance_count: int) -> Rollout:
    if raw is None:
        return Rollout()
    data = _mapping(raw, path)
    strategy = data.get("strategy", "all_at_once")
    if strategy not in STRATEGIES:
        raise ConfigError(f"{path}.strategy", strategy, f"one of: {', '.join(STRATEGIES)}")
    if strategy == "rolling":
        return _parse_rolling(data, path, instance_count)
    if strategy == "all_at_once":
        _only_keys(data, path, set(), {"strategy", "bake_seconds"})
        return Rollout(
            bake_seconds=_int(
                data.get("bake_seconds", DEFAULT_BAKE_SECONDS), f"{path}.bake_seconds", *BAKE_SECONDS
            )
        )
    _only_keys(data, path, {"strategy", "step_percent"}, {"wait_seconds", "bake_seconds"})
    limits = CANARY_PERCENT if strategy == "canary" else LINEAR_PERCENT
    step = _int(data["step_percent"], f"{path}.step_percent", *limits)
    if strategy == "canary":
        canary_instances = math.ceil(instance_count * step / 100)
        if canary_instances * 2 > instance_count:
            raise ConfigError(
                f"{path}.step_percent",
                step,
                f"a canary of {step}% of {instance_count} instance(s) is {canary_instances} instance(s), more than "
                f"SageMaker's limit of 50% of the fleet; use instance_count >= 2 and a smaller step_percent, "
                f"or strategy all_at_once",
            )
    return Rollout(
        strategy=strategy,
        step_percent=step,
        wait_seconds=_int(data.get("wait_seconds", 300), f"{path}.wait_seconds", *WAIT_SECONDS),
        bake_seconds=_int(
            data.get("bake_seconds", DEFAULT_BAKE_SECONDS), f"{path}.bake_seconds", *BAKE_SECONDS
        ),
    )


def _same_region_as_registry(region: str, path: str, registry: Registry) -> None:
    """A model's artifacts and image must be in the model's region (CreateModel, ContainerDefinition:
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html), and the
    registry keeps both in its own region: an endpoint elsewhere could never be created."""
    if region != registry.region:
        raise ConfigError(
            path,
            region,
            f"the registry's region {registry.region}: SageMaker needs a model's artifacts and image in the "
            "endpoint's region, and the registry keeps them in its own (no cross-region copies)",
        )


def _batch(
    data: Mapping[str, Any], path: str, prefix: str, percent: tuple[int, int], instances: int
) -> tuple[str, int] | None:
    """`<prefix>_percent` or `<prefix>_instances` (not both) as a SageMaker CapacitySize."""
    given = [k for k in (f"{prefix}_percent", f"{prefix}_instances") if k in data]
    if len(given) > 1:
        raise ConfigError(
            f"{path}.{given[1]}", data[given[1]], f"set only one of {prefix}_percent and {prefix}_instances"
        )
    if not given:
        return None
    key = given[0]
    if key.endswith("_percent"):
        return ("CAPACITY_PERCENT", _int(data[key], f"{path}.{key}", *percent))
    low, high = math.ceil(instances * percent[0] / 100), math.floor(instances * percent[1] / 100)
    if low > high:
        raise ConfigError(
            f"{path}.{key}",
            data[key],
            f"no whole number of instances is {percent[0]}-{percent[1]}% of instance_count {instances}; "
            f"use {prefix}_percent or a larger instance_count",
        )
    return ("INSTANCE_COUNT", _int(data[key], f"{path}.{key}", low, high))


def _parse_rolling(data: Mapping[str, Any], path: str, instance_count: int) -> Rollout:
    """`strategy: rolling`: RollingUpdatePolicy limits, checked here so a bad value stops synth."""
    _only_keys(
        data,
        path,
        {"strategy"},
        {
            "batch_percent",
            "batch_instances",
            "wait_seconds",
            "max_execution_seconds",
            "rollback_batch_percent",
            "rollback_batch_instances",
        },
    )
    batch = _batch(data, path, "batch", ROLLING_BATCH_PERCENT, instance_count)
    if batch is None:
        raise ConfigError(
            f"{path}.batch_percent", None, "rolling needs batch_percent (5-50) or batch_instances"
        )
    if instance_count < 2:
        raise ConfigError(
            f"{path}.strategy",
            "rolling",
            f"a batch is at most 50% of the fleet, so rolling needs instance_count >= 2 (got {instance_count})",
        )
    rollback = _batch(data, path, "rollback_batch", ROLLING_ROLLBACK_PERCENT, instance_count)
    wait = _int(data.get("wait_seconds", 300), f"{path}.wait_seconds", *WAIT_SECONDS)
    size = batch[1] if batch[0] == "INSTANCE_COUNT" else max(1, math.ceil(instance_count * batch[1] / 100))
    batches = math.ceil(instance_count / size)
    max_execution = data.get("max_execution_seconds")
    if max_execution is not None:
        max_execution = _int(max_execution, f"{path}.max_execution_seconds", *MAX_EXECUTION_SECONDS)
        if max_execution <= batches * wait:
            raise ConfigError(
                f"{path}.max_execution_seconds",
                max_execution,
                f"more than the {batches * wait} s the batches wait ({batches} x {wait} s)",
            )
    elif batches * wait + MAX_EXECUTION_SECONDS[0] > MAX_EXECUTION_SECONDS[1]:
        raise ConfigError(
            f"{path}.wait_seconds",
            wait,
            f"{batches} batches x {wait} s must leave room inside SageMaker's {MAX_EXECUTION_SECONDS[1]} s "
            f"maximum execution timeout",
        )
    return Rollout(
        strategy="rolling",
        wait_seconds=wait,
        rolling=RollingBatches(
            batch=batch, batches=batches, rollback_batch=rollback, max_execution_seconds=max_execution
        ),
    )


def _parse_deployments(
    raw: Any, registry: Registry, groups: set[str], regions: frozenset[str]
) -> tuple[Deployment, ...]:
    if raw is None:
        return ()
    data = _mapping(raw, "deployments")
    result: list[Deployment] = []
    for endpoint, dep_raw in data.items():
        path = f"deployments.{endpoint}"
        _name(endpoint, path, SAGEMAKER_NAME_RE, "a SageMaker endpoint name: letters, digits and hyphens")
        if len(endpoint) > MAX_ENDPOINT_NAME:
            raise ConfigError(
                path,
                endpoint,
                f"endpoint names are at most {MAX_ENDPOINT_NAME} characters here "
                "(generated model and config names append a version and a hash)",
            )
        dep = _mapping(dep_raw, path)
        _only_keys(
            dep,
            path,
            {"model_group", "instance_type", "instance_count"},
            {"account", "region", "follows", "rollout", "network_isolation"},
        )
        group = dep["model_group"]
        if group not in groups:
            raise ConfigError(
                f"{path}.model_group", group, f"a configured model group, one of: {', '.join(sorted(groups))}"
            )
        follows = dep.get("follows", APPROVED)
        _name(
            follows,
            f"{path}.follows",
            STAGE_RE,
            "'Approved' or a model lifecycle stage name (letters, digits, '_' and '-'), e.g. Production",
        )
        if follows != APPROVED and follows not in registry.stages:
            # A misspelt stage (or 'approved') would match no version and the endpoint would never deploy.
            raise ConfigError(
                f"{path}.follows",
                follows,
                f"'Approved' or a stage declared in registry.stages: {', '.join(registry.stages)}"
                + _did_you_mean(follows, (APPROVED, *registry.stages)),
            )
        instance_type = _instance_type(
            dep["instance_type"], f"{path}.instance_type", "ProductionVariantInstanceType"
        )
        count = _int(dep["instance_count"], f"{path}.instance_count", 1, 100)
        region = _region(dep.get("region", registry.region), f"{path}.region", regions)
        _same_region_as_registry(region, f"{path}.region", registry)
        result.append(
            Deployment(
                endpoint=endpoint,
                model_group=group,
                account=_account(dep.get("account", registry.account), f"{path}.account"),
                region=region,
                follows=follows,
                instance_type=instance_type,
                instance_count=count,
                rollout=_parse_rollout(dep.get("rollout"), f"{path}.rollout", count),
                network_isolation=_network_isolation(dep.get("network_isolation", True), path),
            )
        )
    return tuple(result)


def _network_isolation(value: Any, path: str) -> bool:
    """`EnableNetworkIsolation` of the deployment's models (CreateModel): on unless the model needs the
    network at run time; SageMaker still downloads the model data and pulls the image for it."""
    if not isinstance(value, bool):
        raise ConfigError(
            f"{path}.network_isolation",
            value,
            "true (the default: the containers get no network) or false (only for a model that needs the network)",
        )
    return value


ON_REMOVE = ("delete", "keep")


def _parse_retired(
    raw: Any, registry: Registry, deployments: tuple[Deployment, ...], regions: frozenset[str]
) -> tuple[RetiredEndpoint, ...]:
    """`retired`: endpoints taken out of `deployments`, each with what happens to it (`on_remove`)."""
    if raw is None:
        return ()
    configured = {d.endpoint.lower() for d in deployments}
    result = []
    for endpoint, entry_raw in _mapping(raw, "retired").items():
        path = f"retired.{endpoint}"
        _name(endpoint, path, SAGEMAKER_NAME_RE, "a SageMaker endpoint name: letters, digits and hyphens")
        if str(endpoint).lower() in configured:
            raise ConfigError(
                path, endpoint, "an endpoint is either in deployments or retired, not both (remove one)"
            )
        entry = _mapping(entry_raw, path)
        _only_keys(entry, path, {"on_remove"}, {"account", "region"})
        on_remove = entry["on_remove"]
        if on_remove not in ON_REMOVE:
            raise ConfigError(
                f"{path}.on_remove",
                on_remove,
                "delete (the deployer deletes the endpoint, its configs and models) or keep (it keeps "
                "running, no longer managed)" + _did_you_mean(on_remove, ON_REMOVE),
            )
        region = _region(entry.get("region", registry.region), f"{path}.region", regions)
        _same_region_as_registry(region, f"{path}.region", registry)
        result.append(
            RetiredEndpoint(
                endpoint=endpoint,
                account=_account(entry.get("account", registry.account), f"{path}.account"),
                region=region,
                on_remove=on_remove,
            )
        )
    return tuple(result)


def parse_config(raw: Any) -> ProjectConfig:
    data = _mapping(raw, "(top level)")
    _only_keys(data, "", {"registry", "teams"}, {"deployments", "retired"})
    regions = known_regions()
    registry = _parse_registry(data["registry"], regions)
    teams = _parse_teams(data["teams"])
    groups = {g for team in teams for g in team.model_groups}
    deployments = _parse_deployments(data.get("deployments"), registry, groups, regions)
    retired = _parse_retired(data.get("retired"), registry, deployments, regions)
    config = ProjectConfig(
        registry=registry,
        teams=teams,
        deployments=deployments,
        retired=retired,
        warnings=_warnings(teams),
    )
    if not registry.organization_id and len(config.team_accounts) > MAX_DISCOVERY_ACCOUNTS_WITHOUT_ORG:
        raise ConfigError(
            "registry.organization_id",
            None,
            f"set it with {len(config.team_accounts)} team accounts: without an organization id every group's "
            f"policy names each team account for discovery, which is capped at "
            f"{MAX_DISCOVERY_ACCOUNTS_WITHOUT_ORG} accounts (with one, discovery is granted organization-wide)",
        )
    _check_stage_approvers(config)
    with_pipelines = [t.name for t in teams if t.pipeline]
    if len(with_pipelines) > MAX_PIPELINE_TEAMS:
        raise ConfigError(
            f"teams.{with_pipelines[MAX_PIPELINE_TEAMS]}.pipeline",
            "enabled",
            f"at most {MAX_PIPELINE_TEAMS} teams may run pipelines: each needs its own statement in the "
            "artifact bucket policy, which AWS caps at 20 KB",
        )
    return config


def _warnings(teams: tuple[Team, ...]) -> tuple[str, ...]:
    """Valid but probably wrong: an approver account that is another team's own account lets that
    team's administrators approve this team's models (separation of duties is lost)."""
    found = []
    for team in teams:
        if team.approver_account == team.account:
            continue
        others = sorted(t.name for t in teams if t is not team and t.account == team.approver_account)
        if others:
            found.append(
                f"teams.{team.name}.approver_account {team.approver_account!r} is the account of team(s) "
                f"{', '.join(others)}: principals there can assume mlops-{team.name}-approver and approve "
                f"{team.name}'s models; use a governance account (or omit the key to use the team's own)"
            )
    return tuple(found)


def load_config(path: str | Path) -> ProjectConfig:
    file = Path(path)
    try:
        raw = _load_yaml(file.read_text())
    except FileNotFoundError:
        raise ConfigError(
            "config", str(file), "the config file must exist (cdk.json context key 'config')"
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError("config", str(file), f"valid YAML ({err})") from None
    return parse_config(raw)


def _load_yaml(text: str) -> Any:
    """yaml.safe_load, except that a key repeated in one mapping is an error (PyYAML keeps the last
    one silently: a second `fraud-detector-prod:` would replace the first without a word). libyaml's
    loader when PyYAML has it: a 1,000-team config parses three times faster (`make bench`)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _reject_duplicate_keys(node, "")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _reject_duplicate_keys(node: yaml.Node, path: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            here = f"{path}.{key}" if path else str(key)
            line = key_node.start_mark.line + 1
            if key is not None and key in seen:
                raise ConfigError(
                    here,
                    key,
                    f"each key may appear once in a mapping; line {line} repeats the key of line {seen[key]}",
                )
            if key is not None:
                seen[key] = line
            _reject_duplicate_keys(value_node, here)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(item, f"{path}[{index}]")
