"""Deterministic names of the Models and EndpointConfigs the deployer creates.

The name carries the package version and a token of the package ARN, so the version an endpoint
serves is known from DescribeEndpoint alone (no DescribeEndpointConfig/DescribeModel), retries are
idempotent (the same plan gives the same names), and the deployer's own resources can be told
apart from anybody else's when cleaning up. Shape (at most 63 characters below version 10**11)::

    <endpoint[:32]>-<sha(endpoint)[:5]>-v<version>-<sha(package arn)[:6]>-<sha(settings)[:4]>
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MAX_NAME = 63


@dataclass(frozen=True)
class NameToken:
    version: int
    package_token: str


def _h(text: str, size: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def endpoint_base(endpoint: str) -> str:
    return f"{endpoint[:32].rstrip('-')}-{_h(endpoint, 5)}"


def package_token(package_arn: str) -> str:
    return _h(package_arn, 6)


def model_name(
    endpoint: str, version: int, package_arn: str, execution_role_arn: str, *, network_isolation: bool = True
) -> str:
    """A model differs by its execution role and its network isolation too: a config change to either
    creates a new model instead of reusing one with the old settings (CreateModel is idempotent by name)."""
    runs_as = execution_role_arn if network_isolation else f"{execution_role_arn}#network"
    name = f"{endpoint_base(endpoint)}-v{version}-{package_token(package_arn)}-{_h(runs_as, 4)}"
    return _checked(name)


def config_name(
    endpoint: str,
    version: int,
    package_arn: str,
    *,
    model: str,
    variant: str,
    instance_type: str,
    instance_count: int,
) -> str:
    settings = f"{model}|{variant}|{instance_type}|{instance_count}"
    return _checked(f"{endpoint_base(endpoint)}-v{version}-{package_token(package_arn)}-{_h(settings, 4)}")


def parse(endpoint: str, name: str | None) -> NameToken | None:
    """The version token of a deployer-made name for this endpoint, else None."""
    if not name:
        return None
    match = re.fullmatch(rf"{re.escape(endpoint_base(endpoint))}-v(\d+)-([0-9a-f]{{6}})-[0-9a-f]{{4}}", name)
    if not match:
        return None
    return NameToken(int(match.group(1)), match.group(2))


def token_of(version: int, package_arn: str) -> NameToken:
    return NameToken(version, package_token(package_arn))


def _checked(name: str) -> str:
    if len(name) > MAX_NAME:  # cannot happen below version 10**20; guard anyway
        raise ValueError(f"generated name {name!r} is longer than {MAX_NAME} characters")
    return name
