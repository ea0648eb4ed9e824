"""The deployments catalog: every managed endpoint, published for readers with their own roles.

The `mlops` CLI and UI (and any script) need the list of managed endpoints. It lives in SSM Parameter
Store of the registry account, under `/mlops/deployments/`, in the registry's region, as standard-tier
String parameters `part-000`, `part-001`, ... Each part is a small JSON document (docs/contracts.md,
"Deployments catalog")::

    {"part": 0, "parts": 2, "registry": {"account": "...", "region": "..."}, "deployments": [...]}

Why parts: a standard parameter holds at most 4096 characters ("Standard tier parameters support a
maximum parameter value of 4096 characters", https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html);
an advanced one 8 KB and costs money. One deployment is about 700 characters, so 200 deployments need
about 35 parts. Whole deployments are packed into each part, so every part is valid JSON on its own,
and `parts` lets a reader notice a catalog caught in the middle of a stack update.

Readers call `ssm:GetParametersByPath` on the path, which IAM authorizes against the path itself, not
the parameters returned (https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-retrieval-authorization.html),
so one exact resource in a read statement is enough.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from stacks.constructs.policy_data import ArnParts, statement

CATALOG_PATH = "/mlops/deployments"
MAX_PART_CHARS = 4096  # standard tier


def _part(index: int, parts: int, registry: dict[str, str], deployments: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"part": index, "parts": parts, "registry": registry, "deployments": deployments},
        separators=(",", ":"),
        sort_keys=True,
    )


def catalog_parts(
    deployments: Sequence[dict[str, Any]], *, registry_account: str, registry_region: str
) -> list[str]:
    """Pack whole deployments, in order, into as few parts of at most MAX_PART_CHARS as possible.

    Unresolved tokens (e.g. `${Token[AWS.Partition.8]}` inside ARNs) are measured as written, which is
    longer than any value they resolve to (`aws`, `aws-cn`, `aws-us-gov`...), so the deployed values
    are never longer than measured."""
    registry = {"account": registry_account, "region": registry_region}
    groups: list[list[dict[str, Any]]] = [[]]
    for deployment in deployments:
        candidate = [*groups[-1], deployment]
        # `parts` is at most 3 digits in the real value; 999 measures the widest case
        if groups[-1] and len(_part(999, 999, registry, candidate)) > MAX_PART_CHARS:
            groups.append([deployment])
        else:
            groups[-1] = candidate
        if len(_part(999, 999, registry, groups[-1])) > MAX_PART_CHARS:
            raise ValueError(
                f"deployment {deployment.get('endpoint')!r} alone is longer than {MAX_PART_CHARS} characters"
            )
    return [_part(i, len(groups), registry, group) for i, group in enumerate(groups)]


def part_name(index: int) -> str:
    return f"{CATALOG_PATH}/part-{index:03d}"


class DeploymentsCatalog(Construct):
    """The catalog's parameters, written by the deployer stack from the same data as the deployer's own
    configuration (so the two cannot disagree after a deploy)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        deployments: Sequence[dict[str, Any]],
        registry_account: str,
        registry_region: str,
    ) -> None:
        super().__init__(scope, construct_id)
        parts = catalog_parts(deployments, registry_account=registry_account, registry_region=registry_region)
        self.parameters = [
            ssm.StringParameter(
                self,
                f"Part{index:03d}",
                parameter_name=part_name(index),
                string_value=value,
                tier=ssm.ParameterTier.STANDARD,
                description=f"Managed endpoints of the mlops deployer, part {index + 1} of {len(parts)}",
            )
            for index, value in enumerate(parts)
        ]


def catalog_read_data(arns: ArnParts) -> dict[str, Any]:
    """:func:`catalog_read_statement` as plain data (stacks/constructs/policy_data.py)."""
    return statement(
        "ReadDeploymentsCatalog",
        ["ssm:GetParametersByPath"],
        [arns.arn("ssm", "parameter", CATALOG_PATH.lstrip("/"))],
    )


def catalog_read_statement(stack: Stack) -> iam.PolicyStatement:
    """Read the whole catalog with GetParametersByPath (authorized against the path: one exact ARN)."""
    return iam.PolicyStatement(
        sid="ReadDeploymentsCatalog",
        actions=["ssm:GetParametersByPath"],
        resources=[
            stack.format_arn(service="ssm", resource="parameter", resource_name=CATALOG_PATH.lstrip("/"))
        ],
    )
