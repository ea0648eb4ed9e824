"""The principal behind a request's credentials, as IAM names it in policies.

A role session's ARN (``arn:aws:sts::<account>:assumed-role/<role name>/<session>``) has no role path,
but ``aws:PrincipalArn`` is "the ARN of the role, not the ARN of the user that assumed the role"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn),
and a role's ARN includes its path: IAM Identity Center's roles are
``arn:aws:iam::<account>:role/aws-reserved/sso.amazonaws.com/<region>/AWSReservedSSO_<set>_<suffix>``,
and policies name them by that ARN
(https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html). So the role
is looked up in its account to find its path.
"""

from __future__ import annotations

import re

from moto.iam.models import iam_backends

_SESSION = re.compile(r"^arn:([^:]+):sts::(\d{12}):assumed-role/([^/]+)/")


def principal_arn(caller_arn: str) -> str:
    """``aws:PrincipalArn`` of the caller: for a role session its role's ARN (path included), else the
    caller's own ARN (an IAM user, the account root)."""
    m = _SESSION.match(caller_arn)
    if m is None:
        return caller_arn
    partition, account, name = m.groups()
    try:
        return str(iam_backends[account][partition].get_role(name).arn)
    except Exception:  # noqa: BLE001 - a deleted role's session keeps its name; AWS's path is then unknown here
        return f"arn:{partition}:iam::{account}:role/{name}"


__all__ = ["principal_arn"]
