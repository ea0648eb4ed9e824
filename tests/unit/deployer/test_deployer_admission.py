"""Admission checks (issue 9, finding 6): the pure rules, and the service refusing a version with a
ledger ``failed`` item and a notification that names the field."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest
from deployer.admission import AdmissionRules, canonical_spec, changed_since_approval, fingerprint, refusal
from deployer.ledger import ApprovalPin, ApprovalPins, approval_key
from deployer.models import FAILED
from deployer.service import DeployerService
from deployer.settings import parse_deployment

from tests.unit.deployer.deployer_fakes import (
    SWEEP,
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


# --- what was approved: pins (issue 9, finding 6, last part) -------------------------------------------


class FakePins:
    """Same interface as deployer.ledger.ApprovalPins; first write wins as the oldest item does."""

    def __init__(self) -> None:
        self.pins: dict[str, ApprovalPin] = {}
        self.writes = 0

    def get(self, package_arn: str) -> ApprovalPin | None:
        return self.pins.get(package_arn)

    def record(self, package_arn: str, canonical: str, digest: str, event_id: str | None) -> ApprovalPin:
        self.writes += 1
        pin = ApprovalPin(
            package_arn, canonical, digest, f"2026-11-20T10:00:0{self.writes}.000000Z", event_id
        )
        self.pins.setdefault(package_arn, pin)
        return self.pins[package_arn]


def test_changed_since_approval_names_each_changed_field() -> None:
    approved = canonical_spec(spec())
    assert changed_since_approval(approved, spec()) is None
    assert changed_since_approval(approved, json.loads(approved)) is None  # key order does not matter
    reason = changed_since_approval(approved, spec(data=PREFIX + "evil/model.tar.gz"))
    assert reason is not None
    assert "InferenceSpecification.Containers[0].ModelDataUrl" in reason and "evil" in reason
    assert "Image" not in reason
    two = {"Containers": [spec()["Containers"][0], spec()["Containers"][0]]}
    assert "InferenceSpecification.Containers (approved" in str(changed_since_approval(approved, two))
    assert fingerprint(approved).startswith("sha256:") and len(fingerprint(approved)) == 71


def test_a_spec_rewritten_after_approval_is_refused_failed_and_notified() -> None:
    """Approve (pinned from the approval event's own copy), rewrite the specification, then move the
    version to the followed stage: refused, the reason names the field; a new version deploys."""
    deployment = make_deployment(follows="Production")
    sagemaker, notifier, pins = FakeSageMaker(), FakeNotifier(), FakePins()
    ledger = FakeLedger(sagemaker)
    service = DeployerService(make_settings(deployment), sagemaker, ledger, notifier, pins=pins)  # type: ignore[arg-type]
    version = sagemaker.register(approval="Approved")
    version.spec = spec()
    approval = dataclasses.replace(package_event(version), inference_specification=canonical_spec(spec()))
    service.handle_trigger(approval)
    assert pins.get(version.arn) is not None and sagemaker.write_calls() == []  # not in Production yet

    version.spec = spec(data=PREFIX + "swapped/model.tar.gz")  # UpdateModelPackage by the approver
    version.stage = "Production"
    service.handle_trigger(package_event(version))
    assert sagemaker.write_calls() == []
    (entry,) = ledger.all(deployment.endpoint_id)
    assert entry.status == FAILED and entry.reason is not None
    assert "InferenceSpecification.Containers[0].ModelDataUrl" in entry.reason and "swapped" in entry.reason
    assert [t.status for t in notifier.transitions] == [FAILED]
    service.handle_trigger(dataclasses.replace(approval, event_id="again"))  # a later event re-pins nothing
    assert pins.writes == 1

    fresh = sagemaker.register(approval="Approved")
    fresh.spec, fresh.stage = spec(data=PREFIX + "v2/model.tar.gz"), "Production"
    service.handle_trigger(package_event(fresh))
    assert "create_endpoint" in sagemaker.write_calls()


def test_a_version_approved_before_pins_existed_is_pinned_when_first_deployed() -> None:
    deployment = make_deployment()
    sagemaker, pins = FakeSageMaker(), FakePins()
    service = DeployerService(
        make_settings(deployment),
        sagemaker,  # type: ignore[arg-type]
        FakeLedger(sagemaker),  # type: ignore[arg-type]
        FakeNotifier(),  # type: ignore[arg-type]
        pins=pins,  # type: ignore[arg-type]
    )
    version = sagemaker.register(approval="Approved")
    service.handle_trigger(SWEEP)
    pin = pins.get(version.arn)
    assert pin is not None and json.loads(pin.inference_specification) == sagemaker._spec_of(version.arn)
    assert "create_endpoint" in sagemaker.write_calls()


def test_pins_live_in_the_ledger_table_oldest_first() -> None:
    """ApprovalPins against DynamoDB (moto): the partition is approval/<ARN>, the oldest item wins."""
    import boto3
    from moto import mock_aws

    moments = iter(datetime(2026, 11, 20, 10, 0, second, tzinfo=UTC) for second in range(10))
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        ddb.create_table(
            TableName="ledger",
            KeySchema=[
                {"AttributeName": "endpoint_id", "KeyType": "HASH"},
                {"AttributeName": "at", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "endpoint_id", "AttributeType": "S"},
                {"AttributeName": "at", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        pins = ApprovalPins(ddb, "ledger", clock=lambda: next(moments))
        arn = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/fraud-detector/3"
        assert pins.get(arn) is None
        first = pins.record(arn, canonical_spec(spec()), fingerprint(canonical_spec(spec())), "evt-1")
        pins.record(arn, canonical_spec({}), fingerprint(canonical_spec({})), None)
        assert pins.get(arn) == first
        (item,) = ddb.query(
            TableName="ledger",
            KeyConditionExpression="endpoint_id = :e",
            ExpressionAttributeValues={":e": {"S": approval_key(arn)}},
            Limit=1,
        )["Items"]
        assert item["endpoint_id"]["S"] == f"approval/{arn}" and item["event_id"]["S"] == "evt-1"
