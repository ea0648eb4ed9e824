"""Where the caller is and where the registry is, for answers run in the wrong account or region.

The caller's account comes from STS GetCallerIdentity (no permission needed), its region from the
session. The registry's account and region come from the deployments catalog (SSM, in the registry
account and region): read where the caller is, else with the caller's own credentials and default
region; otherwise the message says where to look (`registry.account` and `registry.region` of the config).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_GROUP_ARN = re.compile(r"^arn:[^:]+:sagemaker:([a-z0-9-]+):(\d{12}):model-package-group/")


@dataclass(frozen=True)
class Location:
    caller_account: str | None
    caller_region: str
    registry_account: str | None = None
    registry_region: str | None = None

    @property
    def elsewhere(self) -> bool:
        """True when the registry is known to be in another account or region than the caller."""
        if self.registry_account is None:
            return False
        return (self.caller_account, self.caller_region) != (self.registry_account, self.registry_region)

    def hint(self) -> str:
        here = f"you are in account {self.caller_account or '?'}, region {self.caller_region}"
        if self.registry_account is None:
            return (
                f"{here}; the registry is in the account and region of your config's registry.account and "
                "registry.region: get there with --role-arn arn:aws:iam::<registry account>:role/mlops-<team>-"
                "approver (or --profile) and --region"
            )
        if not self.elsewhere:
            return f"{here}, the registry's"
        how = []
        if self.caller_account != self.registry_account:
            how.append(
                f"--role-arn arn:aws:iam::{self.registry_account}:role/mlops-<team>-approver (or --profile)"
            )
        if self.caller_region != self.registry_region:
            how.append(f"--region {self.registry_region}")
        return (
            f"{here}; the registry is in account {self.registry_account}, region {self.registry_region}: "
            f"use {' and '.join(how)}"
        )


def locate(ctx: Any) -> Location | None:
    """Best effort: None when not even the caller's region is known."""
    from botocore.exceptions import BotoCoreError, ClientError

    from mlops_cli.errors import CliError

    try:
        region = ctx.aws.region
    except CliError:
        return None
    try:
        account: str | None = str(ctx.aws.client("sts").get_caller_identity()["Account"])
    except (ClientError, BotoCoreError):
        account = None
    registry = _registry_of(ctx)
    return Location(account, region, *registry)


def _registry_of(ctx: Any) -> tuple[str | None, str | None]:
    """The registry's account and region from the deployments catalog: where the caller is, else where
    the caller's own credentials and default region (no --role-arn, no --region) would read it."""
    from botocore.exceptions import BotoCoreError, ClientError

    from mlops_cli.aws import Aws
    from mlops_cli.deployments import load_catalog
    from mlops_cli.errors import CliError

    def from_catalog(read: Any) -> tuple[str | None, str | None] | None:
        try:
            catalog = read()
        except (CliError, ClientError, BotoCoreError):
            return None
        if catalog.registry_account:
            return catalog.registry_account, catalog.registry_region
        for deployment in catalog.deployments:  # older catalogs: the group ARNs name the registry
            match = _GROUP_ARN.match(deployment.group_arn or "")
            if match:
                return match.group(2), match.group(1)
        return None

    found = from_catalog(ctx.catalog)
    if found is None and (ctx.args.role_arn or ctx.args.region):
        try:
            base = Aws(profile=ctx.args.profile)
            found = from_catalog(lambda: load_catalog(base.client("ssm"), ctx.args.catalog_path))
        except (CliError, ClientError, BotoCoreError):
            found = None
    return found or (None, None)
