"""Tests that kill mutants which survived `make mutants` (issue 10; docs/mutants.md): exact events the
sweep sends, the fan-out's batch ids and its failure, rolling limits at their bounds, admission rules,
misconfigured deployments and read failures recorded with every field."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from deployer import settings as settings_module
from deployer.admission import AdmissionRules, canonical_spec, changed_since_approval, refusal
from deployer.errors import PermanentError, SettingsError, TransientError
from deployer.events import EndpointChange, Sweep, parse_event, reconcile_message
from deployer.ledger import parse_at
from deployer.models import FAILED, LIVE, LedgerEntry
from deployer.service import DeployerService
from deployer.settings import InvalidDeployment, load_settings, parse_rollout
from deployer.wiring import QueueFanOut

from tests.unit.deployer.deployer_fakes import (
    REGION,
    SERVING,
    SWEEP,
    FakeLedger,
    FakeNotifier,
    FakeSageMaker,
    make_deployment,
    make_settings,
    package_arn,
)

# --- the sweep's fan-out ---------------------------------------------------------------------------


def test_reconcile_message_is_exactly_the_event_the_deployer_parses_back() -> None:
    at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    endpoint_id = f"{SERVING}/{REGION}/fraud-detector-prod"
    message = reconcile_message(endpoint_id, Sweep(event_id="sweep-7", time=at))
    assert message == {
        "version": "0",
        "id": f"sweep-7/{endpoint_id}",
        "detail-type": "Reconcile Endpoint",
        "source": "mlops.deployer",
        "account": SERVING,
        "time": "2026-11-20T10:00:00+00:00",
        "region": REGION,
        "resources": [],
        "detail": {"EndpointName": "fraud-detector-prod"},
    }
    assert parse_event(json.loads(json.dumps(message))) == EndpointChange(
        event_id=f"sweep-7/{endpoint_id}",
        time=at,
        endpoint="fraud-detector-prod",
        account=SERVING,
        region=REGION,
        status=None,
    )
    assert reconcile_message(endpoint_id, Sweep(event_id="s", time=None))["time"] is None


class _Sqs:
    def __init__(self, failed: list[dict[str, Any]] | None = None) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.failed = failed or []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        self.batches.append(Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": self.failed}


def test_fan_out_ids_are_unique_in_each_batch_and_a_refusal_is_transient() -> None:
    sqs = _Sqs()
    QueueFanOut(sqs, "https://sqs/q")([{"n": i} for i in range(12)])
    assert [[e["Id"] for e in batch] for batch in sqs.batches] == [
        [str(i) for i in range(10)],
        ["0", "1"],
    ]
    refused = _Sqs(failed=[{"Id": "3", "Code": "KMS.ThrottlingException"}, {"Id": "4", "Code": "X"}])
    with pytest.raises(TransientError) as error:
        QueueFanOut(refused, "https://sqs/q")([{"n": 1}])
    assert error.value.reason == (
        "SendMessageBatch refused 2 message(s): {'Id': '3', 'Code': 'KMS.ThrottlingException'}"
    )


# --- rolling limits at their bounds (stacks/config.py validated them; the deployer checks again) -----


def rolling(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "strategy": "rolling",
        "wait_seconds": 0,
        "batch": {"type": "CAPACITY_PERCENT", "value": 5},
        "rollback_batch": {"type": "CAPACITY_PERCENT", "value": 100},
        "batches": 1,
        "max_execution_seconds": 600,
    }
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def test_rolling_bounds_are_accepted_and_round_trip() -> None:
    for raw in (
        rolling(),
        rolling(rollback_batch={"type": "CAPACITY_PERCENT", "value": 5}, batches=1000),
        rolling(
            batch={"type": "INSTANCE_COUNT", "value": 1},
            rollback_batch={"type": "INSTANCE_COUNT", "value": 1},
        ),
        rolling(
            batch={"type": "INSTANCE_COUNT", "value": 1000}, rollback_batch=None, max_execution_seconds=None
        ),
    ):
        assert parse_rollout(raw).as_dict() == raw


@pytest.mark.parametrize(
    "raw",
    [
        rolling(rollback_batch={"type": "CAPACITY_PERCENT", "value": 101}),
        rolling(rollback_batch={"type": "CAPACITY_PERCENT", "value": 4}),
        rolling(batch={"type": "INSTANCE_COUNT", "value": 1001}),
        rolling(batch={"type": "INSTANCE_COUNT", "value": 0}),
        rolling(batches=1001),
        rolling(batches=0),
        rolling(wait_seconds=-1),
    ],
)
def test_rolling_values_past_the_bounds_are_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="rollout"):
        parse_rollout(raw)


def test_rolling_waits_may_fill_the_execution_timeout_exactly() -> None:
    """28,200 s of waits + SageMaker's 600 s minimum is exactly its 28,800 s maximum: allowed."""
    raw = rolling(wait_seconds=2820, batches=10, max_execution_seconds=None)
    assert parse_rollout(raw).total_wait_seconds == 28_200
    with pytest.raises(ValueError, match="the waits add up to 28210 s"):
        parse_rollout(rolling(wait_seconds=2821, batches=10, max_execution_seconds=None))


# --- settings ---------------------------------------------------------------------------------------


def test_a_relative_deployments_file_is_read_from_the_code_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "deployments.json"
    file.write_text("[]")
    code_root = Path(settings_module.__file__).resolve().parents[1]
    # Not the code root, and deeper than it: the relative path's "../" steps cannot climb from here to
    # "/" (where extra ".." stop) and so reach the file by accident when read against the cwd.
    elsewhere = tmp_path.joinpath(*["d"] * (len(code_root.parts) + 1))
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    env = {
        "LEDGER_TABLE": "t",
        "TOPIC_ARN": f"arn:aws:sns:{REGION}:111111111111:topic",
        "REGISTRY_ACCOUNT": "111111111111",
        "DEPLOYMENTS_FILE": os.path.relpath(file, code_root),
    }
    assert load_settings(env).deployments == ()
    with pytest.raises(SettingsError, match="cannot be read"):
        load_settings({**env, "DEPLOYMENTS_FILE": "no-such-deployments.json"})


def test_an_invalid_entry_keeps_only_readable_identity_fields() -> None:
    env = {
        "LEDGER_TABLE": "t",
        "TOPIC_ARN": f"arn:aws:sns:{REGION}:111111111111:topic",
        "REGISTRY_ACCOUNT": "111111111111",
        "DEPLOYMENTS": json.dumps([{"endpoint": 7, "group": "", "account": SERVING, "region": REGION}]),
    }
    (invalid,) = load_settings(env).invalid
    assert (invalid.endpoint, invalid.group, invalid.account, invalid.region) == (None, None, SERVING, REGION)


# --- admission rules --------------------------------------------------------------------------------


def test_admission_rules_parse_defaults_and_name_the_bad_key() -> None:
    rules = AdmissionRules.parse({"allowed_image_accounts": ["111111111111"]}, "admission")
    assert rules == AdmissionRules(frozenset({"111111111111"}), False, None)
    for raw, message in (
        ("yes", "admission: 'yes': expected an object"),
        ({"allowed_image_accounts": []}, "admission.allowed_image_accounts: []"),
        ({"allowed_image_accounts": "111111111111"}, "admission.allowed_image_accounts: '111111111111'"),
        (
            {"allowed_image_accounts": ["111111111111"], "require_image_digest": "no"},
            "admission.require_image_digest: 'no': expected true or false",
        ),
        (
            {"allowed_image_accounts": ["111111111111"], "model_data_prefix": 5},
            "admission.model_data_prefix: 5: expected s3://<bucket>/<prefix>/",
        ),
    ):
        with pytest.raises(ValueError) as error:
            AdmissionRules.parse(raw, "admission")
        assert str(error.value).startswith(message), (raw, str(error.value))


def test_admission_refusals_name_the_field() -> None:
    rules = AdmissionRules(frozenset({"111111111111", "222222222222"}), False, "s3://bucket/fraud/")
    image = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/fraud:1"
    assert refusal({"Containers": []}, rules) == "InferenceSpecification.Containers is missing or empty"
    assert refusal({"Containers": [{"Image": 7}]}, rules) == (
        "InferenceSpecification.Containers[0].Image 7 is not an Amazon ECR image URI"
    )
    foreign = "999999999999.dkr.ecr.eu-west-1.amazonaws.com/fraud:1"
    assert refusal({"Containers": [{"Image": foreign}]}, rules) == (
        f"InferenceSpecification.Containers[0].Image {foreign!r} is in account 999999999999, not one of the "
        "allowed image accounts (111111111111, 222222222222; registry.allowed_image_accounts)"
    )
    outside = {"Image": image, "ModelDataUrl": "s3://bucket/other/model.tar.gz"}
    assert refusal({"Containers": [outside]}, rules) == (
        "InferenceSpecification.Containers[0].ModelDataUrl 's3://bucket/other/model.tar.gz' is outside the "
        "owning team's artifact prefix s3://bucket/fraud/"
    )
    source = {"Image": image, "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://elsewhere/m/"}}}
    assert refusal({"Containers": [source]}, rules) == (
        "InferenceSpecification.Containers[0].ModelDataSource.S3DataSource.S3Uri 's3://elsewhere/m/' is "
        "outside the owning team's artifact prefix s3://bucket/fraud/"
    )


def test_changes_since_approval_name_every_changed_field() -> None:
    approved = {
        "Containers": [
            {"Image": "a:1", "Environment": {"A": "1", "B": "2"}},
            {"Image": "b:1", "ModelDataUrl": "s3://x/1"},
        ]
    }
    current = {
        "Containers": [
            {"Image": "a:1", "Environment": {"B": "3", "C": "4"}},
            {"Image": "b:2", "ModelDataUrl": "s3://x/1"},
        ]
    }
    reason = changed_since_approval(canonical_spec(approved), current)
    assert reason is not None
    assert reason.startswith(
        "changed after approval: InferenceSpecification.Containers[0].Environment.A (approved '1', now None); "
        "InferenceSpecification.Containers[0].Environment.B (approved '2', now '3'); "
        "InferenceSpecification.Containers[0].Environment.C (approved None, now '4'); and 1 more. "
    )
    swapped = changed_since_approval(canonical_spec({"Containers": {"Image": "a"}}), {"Containers": "a"})
    assert (
        swapped is not None
        and "InferenceSpecification.Containers (approved {'Image': 'a'}, now 'a')" in swapped
    )
    assert changed_since_approval(canonical_spec(approved), approved) is None


# --- ledger timestamps ------------------------------------------------------------------------------


def test_ledger_times_are_utc_whatever_their_spelling() -> None:
    moment = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    for text in ("2026-11-20T10:00:00Z", "2026-11-20T10:00:00", " 2026-11-20T12:00:00+02:00 "):
        parsed = parse_at(text)
        assert parsed == moment and parsed.utcoffset() is not None, text
    assert parse_at("2026-11-20T12:00:00+02:00").utcoffset().total_seconds() == 7200  # type: ignore[union-attr]


# --- misconfigured deployments and read failures, recorded with every field ---------------------------


def test_a_misconfigured_deployment_item_carries_its_identity_and_what_it_served() -> None:
    invalid = InvalidDeployment(
        index=1,
        reason="DEPLOYMENTS[1].instance_count: 0: expected 1-100",
        endpoint="fraud-detector-stage",
        group="fraud-detector",
        account=SERVING,
        region=REGION,
    )
    sm, ledger, notifier = FakeSageMaker(), FakeLedger(), FakeNotifier()
    served = LedgerEntry(
        status=LIVE,
        endpoint=invalid.endpoint,  # type: ignore[arg-type]
        account=SERVING,
        region=REGION,
        group="fraud-detector",
        serving_package_arn=package_arn(3),
        serving_version=3,
    )
    ledger.append(served)
    service = DeployerService(make_settings(make_deployment(), invalid=(invalid,)), sm, ledger, notifier)  # type: ignore[arg-type]
    event = EndpointChange("evt-9", None, "fraud-detector-stage", SERVING, REGION, "InService")
    service.record_invalid(invalid, event)
    service.record_invalid(invalid, event)  # written once
    (_, item) = ledger.all(invalid.endpoint_id)  # type: ignore[arg-type]
    assert (item.status, item.endpoint, item.account, item.region, item.group) == (
        FAILED,
        "fraud-detector-stage",
        SERVING,
        REGION,
        "fraud-detector",
    )
    assert (item.serving_package_arn, item.serving_version) == (package_arn(3), 3)
    assert (item.reason, item.event_id) == (f"deployment misconfigured: {invalid.reason}", "evt-9")
    assert item.endpoint_id == f"{SERVING}/{REGION}/fraud-detector-stage"
    assert notifier.transitions[-1] is not None and notifier.problems == []


def test_a_misconfigured_deployment_without_identity_is_notified_except_on_the_sweep() -> None:
    invalid = InvalidDeployment(index=4, reason="DEPLOYMENTS[4]: expected an object, got str")
    ledger, notifier = FakeLedger(), FakeNotifier()
    service = DeployerService(
        make_settings(make_deployment(), invalid=(invalid,)), FakeSageMaker(), ledger, notifier
    )  # type: ignore[arg-type]
    service.record_invalid(invalid, SWEEP)
    assert notifier.problems == [] and ledger.items == {}
    service.record_invalid(invalid, EndpointChange("e", None, "x", SERVING, REGION, None))
    assert notifier.problems == [("misconfigured deployment", invalid.reason)] and ledger.items == {}


def test_a_read_failure_item_names_the_deployment_and_what_it_served() -> None:
    deployment = make_deployment()
    sm, ledger, notifier = FakeSageMaker(), FakeLedger(), FakeNotifier()
    ledger.append(
        LedgerEntry(
            status=LIVE,
            endpoint=deployment.endpoint,
            account=deployment.account,
            region=deployment.region,
            group=deployment.group,
            serving_package_arn=package_arn(2),
            serving_version=2,
        )
    )

    def denied(_deployment: Any) -> Any:
        raise PermanentError("describe_endpoint: AccessDenied: no")

    sm.describe_endpoint = denied  # type: ignore[method-assign]
    service = DeployerService(make_settings(deployment), sm, ledger, notifier)  # type: ignore[arg-type]
    event = EndpointChange("evt-3", None, deployment.endpoint, deployment.account, deployment.region, None)
    service.handle_trigger(event)
    service.handle_trigger(event)  # written once
    (_, item) = ledger.all(deployment.endpoint_id)
    assert (item.status, item.group, item.serving_package_arn, item.serving_version) == (
        FAILED,
        deployment.group,
        package_arn(2),
        2,
    )
    assert item.rollout == deployment.rollout.as_dict() and item.event_id == "evt-3"
    assert item.reason == "cannot read SageMaker state: describe_endpoint: AccessDenied: no"
