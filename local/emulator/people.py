"""The roles people sign in with, for teams whose roles are narrowed to principals.

A team with ``publisher_principals``/``approver_principals`` trusts only the principals matching those
``aws:PrincipalArn`` patterns (separation of duties inside one account), so its account's admin can no
longer assume its roles. In AWS the people hold such roles through the platform team's single sign-on
(IAM Identity Center makes one role per permission set). Here the emulator makes one role per pattern
in the trusted account, trusted by that account's admin user (it stands in for the identity provider:
moto's same-account trust check refuses a trust of the account root, see local/EMULATION.md) and
allowed to assume any ``mlops-*`` role of the registry account: the team roles' trust policies decide.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from stacks.config import ProjectConfig

from .server import ADMIN_USER

_ROLE_PATTERN = re.compile(r"^arn:([^:]+):iam::(\d{12}):role/(.+)$")


def person_role(pattern: str) -> tuple[str, str] | None:
    """(path, name) of a role matching an ARN pattern: a ``*`` that is a whole path segment or the
    whole name becomes ``local``, any other ``*`` is dropped, ``?`` becomes ``0``. None for a pattern
    of a user or the root (the emulator makes no users)."""
    m = _ROLE_PATTERN.match(pattern)
    if m is None:
        return None
    concrete = re.sub(r"(?:(?<=/)|^)\*(?=/|$)", "local", m.group(3)).replace("*", "").replace("?", "0")
    path, _, name = concrete.rpartition("/")
    return (f"/{path}/" if path else "/"), name


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def create_person_roles(
    config: ProjectConfig, session_of: Callable[[str], Any], endpoint_url: str
) -> dict[str, dict[str, str]]:
    """For each narrowed team role, a person role matching its first role pattern; returns
    ``{team: {"publisher"|"approver": person role ARN}}``. ``session_of(account)`` is that account's admin."""
    registry = config.registry.account
    people: dict[str, dict[str, str]] = {}
    for team in config.teams:
        for duty, account, patterns in (
            ("publisher", team.account, team.publisher_principals),
            ("approver", team.approver_account, team.approver_principals),
        ):
            role = next((r for r in map(person_role, patterns) if r is not None), None)
            if role is None:
                continue
            path, name = role
            partition = _ROLE_PATTERN.match(patterns[0]).group(1)  # type: ignore[union-attr]
            iam = session_of(account).client("iam", endpoint_url=endpoint_url)
            try:
                arn = iam.get_role(RoleName=name)["Role"]["Arn"]
            except iam.exceptions.NoSuchEntityException:
                arn = iam.create_role(
                    RoleName=name,
                    Path=path,
                    Description=f"A person of team {team.name} ({duty}): the role they sign in with",
                    AssumeRolePolicyDocument=_document(
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:{partition}:iam::{account}:user/{ADMIN_USER}"},
                            "Action": "sts:AssumeRole",
                        }
                    ),
                )["Role"]["Arn"]
                iam.put_role_policy(
                    RoleName=name,
                    PolicyName="assume-mlops-roles",
                    PolicyDocument=_document(
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Resource": f"arn:{partition}:iam::{registry}:role/mlops-*",
                        }
                    ),
                )
            people.setdefault(team.name, {})[duty] = arn
    return people


__all__ = ["create_person_roles", "person_role"]
