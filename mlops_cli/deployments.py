"""Managed endpoints, read from the deployments catalog the deployer stack publishes in SSM Parameter
Store of the registry account (docs/contracts.md, "Deployments catalog"): the same JSON objects as the
deployer's own configuration ("Deployer Lambda environment")."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from mlops_cli.errors import (
    EXIT_AWS_ERROR,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    CliError,
    translated,
)
from mlops_cli.ledger import endpoint_id

DEFAULT_CATALOG_PATH = "/mlops/deployments"
APPROVED = "Approved"


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    group: str
    account: str
    region: str
    follows: str = APPROVED
    group_arn: str | None = None
    instance_type: str | None = None
    instance_count: int | None = None
    rollout: dict[str, Any] = field(default_factory=dict)
    alarms: tuple[str, ...] = ()
    execution_role_arn: str | None = None
    deploy_role_arn: str | None = None

    @property
    def endpoint_id(self) -> str:
        return endpoint_id(self.account, self.region, self.endpoint)

    def rollout_text(self) -> str:
        strategy = str(self.rollout.get("strategy", "all_at_once"))
        if strategy == "all_at_once":
            return "all at once"
        parts = [f"{strategy} {self.rollout.get('step_percent', '?')}%"]
        if "wait_seconds" in self.rollout:
            parts.append(f"wait {self.rollout['wait_seconds']}s")
        if "bake_seconds" in self.rollout:
            parts.append(f"bake {self.rollout['bake_seconds']}s")
        return ", ".join(parts)


@dataclass(frozen=True)
class Retired:
    """An endpoint of the config's `retired` (a DEPLOYMENTS entry with `on_remove`)."""

    endpoint: str
    account: str
    region: str
    on_remove: str  # delete | keep
    deploy_role_arn: str | None = None

    @property
    def endpoint_id(self) -> str:
        return endpoint_id(self.account, self.region, self.endpoint)


def parse_retired(items: list[Any]) -> list[Retired]:
    return [
        Retired(
            endpoint=str(item["endpoint"]),
            account=str(item["account"]),
            region=str(item["region"]),
            on_remove=str(item["on_remove"]),
            deploy_role_arn=item.get("deploy_role_arn"),
        )
        for item in items
        if isinstance(item, dict) and "on_remove" in item
    ]


def parse_deployments(text: str | None, *, source: str = "DEPLOYMENTS") -> list[Deployment]:
    if not text:
        return []
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{source} is not valid JSON: {exc}", EXIT_AWS_ERROR) from exc
    if not isinstance(raw, list):
        raise CliError(f"{source} must be a JSON list, got {type(raw).__name__}", EXIT_AWS_ERROR)
    result = []
    for index, item in enumerate(raw):
        if isinstance(item, dict) and "on_remove" in item:
            continue  # a retired endpoint (parse_retired)
        try:
            result.append(
                Deployment(
                    endpoint=str(item["endpoint"]),
                    group=str(item["group"]),
                    account=str(item["account"]),
                    region=str(item["region"]),
                    follows=str(item.get("follows") or APPROVED),
                    group_arn=item.get("group_arn"),
                    instance_type=item.get("instance_type"),
                    instance_count=item.get("instance_count"),
                    rollout=dict(item.get("rollout") or {}),
                    alarms=tuple(item.get("alarms") or ()),
                    execution_role_arn=item.get("execution_role_arn"),
                    deploy_role_arn=item.get("deploy_role_arn"),
                )
            )
        except (KeyError, TypeError) as exc:
            raise CliError(f"{source}[{index}] is missing a required key: {exc}", EXIT_AWS_ERROR) from exc
    return result


@dataclass(frozen=True)
class Catalog:
    """The deployments catalog the deployer stack publishes (docs/contracts.md, "Deployments catalog")."""

    path: str
    deployments: list[Deployment]
    registry_account: str | None = None
    registry_region: str | None = None
    retired: list[Retired] = field(default_factory=list)


def parse_catalog(path: str, values: dict[str, str]) -> Catalog:
    """Join the parts (parameter name -> value) found under `path` into one catalog.

    Every part says how many parts there are; parts left over from a larger catalog (CloudFormation
    deletes removed parameters last) are ignored, and parts that disagree mean an update in progress."""
    parts: dict[int, dict[str, Any]] = {}
    for name, value in sorted(values.items()):
        try:
            part = json.loads(value)
            index, count = int(part["part"]), int(part["parts"])
            deployments = part["deployments"]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CliError(
                f"deployments catalog part {name} is malformed: {exc}",
                EXIT_AWS_ERROR,
                hint="redeploy the MlopsDeployer stack, which writes the catalog",
            ) from exc
        parts[index] = {"parts": count, "deployments": deployments, "registry": part.get("registry") or {}}
    if 0 not in parts:
        raise CliError(
            f"deployments catalog {path} has no part 0 (found {len(parts)} part(s))",
            EXIT_AWS_ERROR,
            hint="redeploy the MlopsDeployer stack, which writes the catalog",
        )
    count = parts[0]["parts"]
    wanted = [parts.get(i) for i in range(count)]
    if any(p is None or p["parts"] != count for p in wanted):
        raise CliError(
            f"deployments catalog {path} is incomplete (parts disagree): the MlopsDeployer stack is probably "
            "being updated",
            EXIT_AWS_ERROR,
            hint="try again in a minute",
        )
    items = [item for p in wanted if p is not None for item in p["deployments"]]
    registry = parts[0]["registry"]
    return Catalog(
        path=path,
        deployments=parse_deployments(json.dumps(items), source=f"deployments catalog {path}"),
        registry_account=registry.get("account"),
        registry_region=registry.get("region"),
        retired=parse_retired(items),
    )


def load_catalog(ssm_client: Any, path: str = DEFAULT_CATALOG_PATH) -> Catalog:
    """Read every part under `path` with GetParametersByPath (IAM authorizes it against the path:
    team and approver roles are granted exactly that; see stacks/constructs/deployments_catalog.py)."""
    values: dict[str, str] = {}
    with translated(
        needs=f"ssm:GetParametersByPath on parameter {path} in the registry account (team and approver "
        "roles have it)",
        what=f"deployments catalog {path}",
    ):
        for page in ssm_client.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=False):
            for parameter in page.get("Parameters", []):
                values[parameter["Name"]] = parameter["Value"]
    if not values:
        region = getattr(getattr(ssm_client, "meta", None), "region_name", None)
        raise CliError(
            f"no deployments catalog at {path} (SSM parameters) in this account"
            + (f" and region {region}" if region else ""),
            EXIT_NOT_FOUND,
            hint="deploy the MlopsDeployer stack, or use the credentials and --region of the registry account",
        )
    return parse_catalog(path, values)


def resolve_endpoint(deployments: list[Deployment], text: str) -> Deployment:
    """Find a deployment by endpoint name or by `<account>/<region>/<name>` id."""
    if text.count("/") == 2:
        matches = [d for d in deployments if d.endpoint_id == text]
    else:
        matches = [d for d in deployments if d.endpoint == text]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        ids = ", ".join(d.endpoint_id for d in matches)
        raise CliError(
            f"endpoint name {text!r} is ambiguous", EXIT_USAGE, hint=f"use one of the full ids: {ids}"
        )
    names = [d.endpoint for d in deployments] + [d.endpoint_id for d in deployments]
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.5)
    hint = (
        f"did you mean: {', '.join(close)}?"
        if close
        else (
            "managed endpoints: " + ", ".join(sorted(d.endpoint for d in deployments))
            if deployments
            else None
        )
    )
    raise CliError(f"endpoint {text!r} is not managed by the deployer", EXIT_NOT_FOUND, hint=hint)
