"""Endpoints the deployer made that the config no longer deploys: retired ones (config `retired`,
`on_remove: delete | keep`) and ones removed from `deployments` without a word (still running, still
billing, unmanaged). Found by the deployer's tag `mlops:managed-by: mlops-deployer` (put on every
endpoint it creates) in the accounts and regions of the catalog."""

from __future__ import annotations

from typing import Any

from mlops_cli.context import Context
from mlops_cli.deployments import Deployment, Retired
from mlops_cli.errors import CliError, is_denied
from mlops_cli.ledger import endpoint_id

MANAGED_BY_TAG = "mlops:managed-by"  # stacks/constructs/tagged_endpoint_access.py
MANAGED_BY = "mlops-deployer"
NOT_CONFIGURED = (
    "NOT CONFIGURED: made by the deployer, in no deployment; it keeps running (and billing) unmanaged. "
    "Add it under `retired:` with on_remove: delete (the deployer deletes it) or keep"
)


def _state(retired: Retired | None, status: str) -> str:
    if retired is None:
        return NOT_CONFIGURED
    if retired.on_remove == "delete":
        return f"retired (on_remove: delete): the deployer deletes it at its next sweep ({status})"
    return "retired (on_remove: keep): left running, no longer managed"


def unconfigured_endpoints(
    ctx: Context, deployments: list[Deployment], retired: list[Retired]
) -> tuple[list[dict[str, Any]], list[str]]:
    """(rows, notes): managed endpoints outside `deployments`, and where they could not be listed."""
    configured = {d.endpoint_id for d in deployments}
    by_id = {r.endpoint_id: r for r in retired}
    places = sorted(
        {(d.account, d.region, d.deploy_role_arn or "") for d in deployments}
        | {(r.account, r.region, r.deploy_role_arn or "") for r in retired}
    )
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for account, region, role in places:
        try:
            found = _managed_in(ctx, account, region, role or None)
        except CliError as exc:
            notes.append(f"cannot list the endpoints of {account}/{region}: {exc.message}")
            continue
        except Exception as exc:  # noqa: BLE001 - botocore errors: report where, carry on
            if not is_denied(exc):
                raise
            notes.append(f"cannot list the endpoints of {account}/{region}: {exc}")
            continue
        for name, status in found:
            key = endpoint_id(account, region, name)
            if key in configured:
                continue
            rows.append(
                {
                    "endpoint": name,
                    "endpoint_id": key,
                    "endpoint_status": status,
                    "on_remove": by_id[key].on_remove if key in by_id else None,
                    "state": _state(by_id.get(key), status),
                }
            )
    return rows, notes


def _managed_in(ctx: Context, account: str, region: str, role: str | None) -> list[tuple[str, str]]:
    scoped = ctx.aws.assumed(role) if role else ctx.aws
    sm = scoped.client("sagemaker", region=region)
    found = []
    for page in sm.get_paginator("list_endpoints").paginate():
        for endpoint in page.get("Endpoints", []):
            tags = sm.list_tags(ResourceArn=endpoint["EndpointArn"]).get("Tags", [])
            if any(t.get("Key") == MANAGED_BY_TAG and t.get("Value") == MANAGED_BY for t in tags):
                found.append((str(endpoint["EndpointName"]), str(endpoint.get("EndpointStatus"))))
    return found
