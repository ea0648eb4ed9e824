"""Where the caller is and where the registry is, for answers run in the wrong account or region.

The caller's account comes from STS GetCallerIdentity (no permission needed), its region from the
session. The registry's account and region come from the managed endpoints (every deployment names its
group's ARN) when they can be read; otherwise the message says where to look (`registry.account` and
`registry.region` of the config).
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
    registry_account = registry_region = None
    try:
        deployments = ctx.deployments()
    except (CliError, ClientError, BotoCoreError):
        deployments = []
    for deployment in deployments:
        match = _GROUP_ARN.match(deployment.group_arn or "")
        if match:
            registry_region, registry_account = match.groups()
            break
    return Location(account, region, registry_account, registry_region)
