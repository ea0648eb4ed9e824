"""The person roles the emulator makes for teams narrowed to principals (local.emulator.people)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from local.emulator.people import create_person_roles, person_role
from local.emulator.policy import Decision, evaluate
from local.emulator.server import ADMIN_USER
from stacks.config import parse_config

from .conftest import REGION

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE: dict[str, Any] = yaml.safe_load((ROOT / "config/example.yaml").read_text())


@pytest.mark.parametrize(
    ("pattern", "role"),
    [
        ("arn:aws:iam::555555555555:role/recsys-data-scientist*", ("/", "recsys-data-scientist")),
        ("arn:aws:iam::555555555555:role/release-manager", ("/", "release-manager")),
        ("arn:aws:iam::555555555555:role/team-?-approver", ("/", "team-0-approver")),
        (
            "arn:aws:iam::555555555555:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Release_*",
            ("/aws-reserved/sso.amazonaws.com/local/", "AWSReservedSSO_Release_"),
        ),
        ("arn:aws:iam::555555555555:role/people/*", ("/people/", "local")),
        ("arn:aws:iam::555555555555:user/alice", None),
        ("arn:aws:iam::555555555555:root", None),
    ],
)
def test_a_person_role_matches_its_pattern(pattern: str, role: tuple[str, str] | None) -> None:
    assert person_role(pattern) == role
    if role is not None:  # the made role's ARN is what the pattern admits (ArnLike, as a trust policy has it)
        arn = f"arn:aws:iam::555555555555:role{role[0]}{role[1]}"
        trust = {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Condition": {"ArnLike": {"aws:PrincipalArn": pattern}},
                }
            ]
        }
        assert evaluate([trust], "sts:AssumeRole", "*", {"aws:PrincipalArn": [arn]}) is Decision.ALLOW


def test_the_example_gets_one_person_role_per_narrowed_recsys_role(aws: None) -> None:
    """fraud is not narrowed (nothing made); recsys's two roles each get a role in 555555555555, trusted
    by that account's admin user, allowed to assume only the registry account's mlops roles."""

    def admin(account: str) -> Any:
        session = boto3.Session(region_name=REGION)
        session.events.register(
            "before-sign.iam.*", lambda request, **_: request.headers.add_header("x-moto-account-id", account)
        )
        return session

    config = parse_config(copy.deepcopy(EXAMPLE))
    people = create_person_roles(config, admin, endpoint_url=None)  # type: ignore[arg-type]
    assert people == {
        "recsys": {
            "publisher": "arn:aws:iam::555555555555:role/recsys-data-scientist",
            "approver": "arn:aws:iam::555555555555:role/recsys-release-manager",
        }
    }
    iam = admin("555555555555").client("iam")
    role = iam.get_role(RoleName="recsys-release-manager")["Role"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::555555555555:user/{ADMIN_USER}"}
    policy = iam.get_role_policy(RoleName="recsys-release-manager", PolicyName="assume-mlops-roles")
    document = policy["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"][0]["Resource"] == "arn:aws:iam::111111111111:role/mlops-*"
    # a second start finds them (no duplicate, no error)
    assert create_person_roles(config, admin, endpoint_url=None) == people  # type: ignore[arg-type]
