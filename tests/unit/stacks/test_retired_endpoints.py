"""Retired deployments (config `retired`): the deployer may delete exactly the retired endpoints whose
config says `on_remove: delete`, only while they carry its tag; `keep` grants nothing. Synthesized with
cdk-nag on."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from stacks.config import parse_config
from tests.unit.stacks.policy_helpers import actions_of, resources_of
from tests.unit.stacks.synth import EXAMPLE_CONFIG, Synthesized, synthesize
from tests.unit.stacks.test_deployer_stacks import role_statements

SERVING = "MlopsServing-333333333333-eu-west-1"
MANAGED = {"StringEquals": {"aws:ResourceTag/mlops:managed-by": "mlops-deployer"}}


@pytest.fixture(scope="module")
def synth() -> Synthesized:
    raw: dict[str, Any] = copy.deepcopy(yaml.safe_load(EXAMPLE_CONFIG.read_text()))
    raw["retired"] = {
        "fraud-detector-canary": {"account": "333333333333", "on_remove": "delete"},
        "recommender-canary": {"on_remove": "delete"},
        "recommender-old": {"on_remove": "keep"},
    }
    return synthesize(parse_config(raw))


def test_no_nag_errors(synth: Synthesized) -> None:
    errors = [m for stack in synth.messages.values() for m in stack if m[0] == "error"]
    assert errors == []


def test_the_serving_deploy_access_role_deletes_only_its_retired_endpoint_and_only_if_managed(
    synth: Synthesized,
) -> None:
    _, statements = role_statements(synth, SERVING, "mlops-deploy-access")
    (delete,) = [s for s in statements if "sagemaker:DeleteEndpoint" in actions_of(s)]
    assert resources_of(delete) == ["arn:aws:sagemaker:eu-west-1:333333333333:endpoint/fraud-detector-canary"]
    assert delete["Condition"] == MANAGED
    cleanup = next(s for s in statements if s.get("Sid") == "DeleteRetiredConfigsAndModels")
    assert resources_of(cleanup) == sorted(
        [
            "arn:aws:sagemaker:eu-west-1:333333333333:endpoint-config/fraud-detector-canary-*",
            "arn:aws:sagemaker:eu-west-1:333333333333:model/fraud-detector-canary-*",
        ]
    )
    # the live deployment's statements do not name the retired endpoint
    update = next(s for s in statements if "sagemaker:UpdateEndpoint" in actions_of(s))
    assert not any("fraud-detector-canary" in r for r in resources_of(update))


def test_the_deployer_deletes_registry_account_endpoints_only_by_its_tag(synth: Synthesized) -> None:
    _, statements = role_statements(synth, "MlopsDeployer", "mlops-deployer")
    (delete,) = [s for s in statements if "sagemaker:DeleteEndpoint" in actions_of(s)]
    assert resources_of(delete) == ["arn:aws:sagemaker:eu-west-1:111111111111:endpoint/*"]
    assert delete["Condition"] == MANAGED


def test_the_deployer_settings_carry_the_retired_endpoints(synth: Synthesized) -> None:
    # the same list goes into the code package (deployments.json) and the catalog: read the catalog
    parameters = synth.resources("MlopsDeployer", "AWS::SSM::Parameter").values()
    items = [d for p in parameters for d in json.loads(p["Properties"]["Value"])["deployments"]]
    retired = {d["endpoint"]: d for d in items if "on_remove" in d}
    assert (
        retired["fraud-detector-canary"]["deploy_role_arn"]
        == "arn:aws:iam::333333333333:role/mlops-deploy-access"
    )
    assert retired["recommender-canary"] == {
        "endpoint": "recommender-canary",
        "account": "111111111111",
        "region": "eu-west-1",
        "on_remove": "delete",
        "deploy_role_arn": None,
    }
    assert retired["recommender-old"]["on_remove"] == "keep"


def test_without_retired_endpoints_nothing_may_be_deleted() -> None:
    from tests.unit.stacks.synth import example

    synth = example()
    for stack, role in (("MlopsDeployer", "mlops-deployer"), (SERVING, "mlops-deploy-access")):
        _, statements = role_statements(synth, stack, role)
        assert not any("sagemaker:DeleteEndpoint" in actions_of(s) for s in statements)
