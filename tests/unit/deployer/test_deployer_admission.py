"""Admission checks (issue 9, finding 6): the pure rules, and the service refusing a version with a
ledger ``failed`` item and a notification that names the field."""

from __future__ import annotations

import dataclasses

import pytest
from deployer.admission import AdmissionRules, refusal
from deployer.models import FAILED
from deployer.service import DeployerService
from deployer.settings import parse_deployment

from tests.unit.deployer.deployer_fakes import (
    FakeLedger,
    FakeNotifier,
    FakeSageMaker,
    make_deployment,
    make_settings,
    package_event,
)

TEAM = "111111111111"
SAGEMAKER_IMAGES = "141502667606"  # the region's built-in algorithm images (eu-west-1)
PREFIX = "s3://mlops-artifacts-111111111111-eu-west-1/fraud/"
RULES = AdmissionRules(frozenset({TEAM, SAGEMAKER_IMAGES}), model_data_prefix=PREFIX)
DIGEST = "sha256:" + "a" * 64


def spec(
    image: str = f"{TEAM}.dkr.ecr.eu-west-1.amazonaws.com/fraud:1.4", data: str = PREFIX + "v1/model.tar.gz"
):
    return {"Containers": [{"Image": image, "ModelDataUrl": data}]}


def test_an_image_of_an_allowed_account_and_data_in_the_team_prefix_is_admitted() -> None:
    assert refusal(spec(), RULES) is None
    assert refusal(spec(f"{SAGEMAKER_IMAGES}.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1.7-1"), RULES) is None


@pytest.mark.parametrize(
    ("specification", "rules", "names"),
    [
        (spec("999999999999.dkr.ecr.eu-west-1.amazonaws.com/miner:latest"), RULES, "Containers[0].Image"),
        (spec("docker.io/library/python:3.12"), RULES, "not an Amazon ECR image URI"),
        (
            spec(data="s3://mlops-artifacts-111111111111-eu-west-1/recsys/v1/model.tar.gz"),
            RULES,
            "ModelDataUrl",
        ),
        (spec(data="s3://somebody-elses-bucket/fraud/model.tar.gz"), RULES, "owning team's artifact prefix"),
        (spec(), dataclasses.replace(RULES, require_image_digest=True), "not pinned by digest"),
        ({"Containers": []}, RULES, "Containers is missing or empty"),
        (
            {
                "Containers": [
                    {
                        "Image": f"{TEAM}.dkr.ecr.eu-west-1.amazonaws.com/fraud@{DIGEST}",
                        "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://elsewhere/x/"}},
                    }
                ]
            },
            RULES,
            "ModelDataSource.S3DataSource.S3Uri",
        ),
    ],
)
def test_each_violation_names_the_field_and_the_value(specification, rules, names) -> None:
    reason = refusal(specification, rules)
    assert reason is not None and names in reason


def test_a_pinned_image_passes_the_digest_rule() -> None:
    rules = dataclasses.replace(RULES, require_image_digest=True)
    assert refusal(spec(f"{TEAM}.dkr.ecr.eu-west-1.amazonaws.com/fraud@{DIGEST}"), rules) is None


def test_settings_parse_the_admission_rules_and_name_bad_values() -> None:
    base = {
        "endpoint": "fraud-detector-prod",
        "group": "fraud-detector",
        "group_arn": "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/fraud-detector",
        "account": "333333333333",
        "region": "eu-west-1",
        "follows": "Approved",
        "instance_type": "ml.m5.large",
        "instance_count": 2,
        "rollout": {"strategy": "all_at_once"},
        "alarms": ["a"],
        "execution_role_arn": "arn:aws:iam::333333333333:role/x",
        "deploy_role_arn": None,
    }
    assert parse_deployment(base).admission is None
    rules = {"allowed_image_accounts": [TEAM], "require_image_digest": True, "model_data_prefix": PREFIX}
    assert parse_deployment({**base, "admission": rules}).admission == AdmissionRules(
        frozenset({TEAM}), True, PREFIX
    )
    with pytest.raises(ValueError, match=r"admission.allowed_image_accounts: \['12'\]"):
        parse_deployment({**base, "admission": {**rules, "allowed_image_accounts": ["12"]}})


def test_the_service_refuses_a_foreign_image_records_failed_and_notifies() -> None:
    deployment = make_deployment(admission=RULES)
    sagemaker, notifier = FakeSageMaker(), FakeNotifier()
    ledger = FakeLedger(sagemaker)
    service = DeployerService(make_settings(deployment), sagemaker, ledger, notifier)
    bad = sagemaker.register(approval="Approved")
    bad.spec = spec("999999999999.dkr.ecr.eu-west-1.amazonaws.com/miner:latest")
    service.handle_trigger(package_event(bad))
    assert sagemaker.write_calls() == []  # nothing was deployed
    (entry,) = ledger.all(deployment.endpoint_id)
    assert entry.status == FAILED and entry.version == 1
    assert entry.reason is not None and "InferenceSpecification.Containers[0].Image" in entry.reason
    assert "999999999999" in entry.reason
    assert [t.status for t in notifier.transitions] == [FAILED]
    service.handle_trigger(package_event(bad))  # not retried, not recorded twice
    assert len(ledger.all(deployment.endpoint_id)) == 1 and sagemaker.write_calls() == []

    good = sagemaker.register(approval="Approved")  # a newer, admissible version deploys
    service.handle_trigger(package_event(good))
    assert "create_endpoint" in sagemaker.write_calls()
