"""What the operator sees where the mutation run found no test looking: which region, topic and queue
the Lambda's clients are built for, the exact SNS subject and text, the ledger's stored lists, the
config's error texts, the STS credentials' lifetime and the handler's time budget."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from deployer import admission, aws, controller, handler
from deployer.aws import ClientFactory
from deployer.errors import PermanentError
from deployer.events import ModelPackageChange, Sweep, audit_fields, parse_event, parse_sqs_event
from deployer.ledger import ApprovalPins, Ledger
from deployer.models import FAILED, LIVE, ROLLED_BACK, SKIPPED, SUPERSEDED, DeployPlan, LedgerEntry, Package
from deployer.notifier import Notifier, message_for, subject_for
from deployer.sagemaker_gateway import SageMakerGateway
from deployer.service import DeployerService
from deployer.settings import RetiredEndpoint, load_settings
from deployer.wiring import build_service
from moto import mock_aws

from tests.unit.deployer.deployer_fakes import (
    GROUP,
    REGION,
    REGISTRY,
    SERVING,
    FakeLedger,
    FakeNotifier,
    FakeSageMaker,
    LambdaContext,
    load_event,
    make_deployment,
    make_settings,
    package_arn,
    sqs_event,
)
from tests.unit.deployer.test_deployer_controller import item, pkg, serving
from tests.unit.deployer.test_deployer_moto import create_ledger_table

TOPIC = f"arn:aws:sns:{REGION}:{REGISTRY}:mlops-deployments"
QUEUE = f"https://sqs.{REGION}.amazonaws.com/{REGISTRY}/mlops-deployer"
ROLE = f"arn:aws:iam::{SERVING}:role/mlops-deploy-access"


def _client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


# --- the composition root: which client each adapter is built for --------------------------------------


class RecordingClient:
    """Any AWS client: records each call, answers an empty Query and nothing else."""

    def __init__(self, service: str, calls: list[tuple[str, str, dict[str, Any]]]) -> None:
        self._service = service
        self._calls = calls

    def __getattr__(self, operation: str) -> Any:
        def call(**kwargs: Any) -> dict[str, Any]:
            self._calls.append((self._service, operation, kwargs))
            return {"Items": []} if operation == "query" else {}

        return call


class RecordingClients:
    """The ClientFactory's interface: records (service, region, role) of every client it is asked for."""

    def __init__(self) -> None:
        self.built: list[tuple[str, str | None, str | None]] = []
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def client(self, service: str, region: str | None = None, role_arn: str | None = None) -> Any:
        self.built.append((service, region, role_arn))
        return RecordingClient(service, self.calls)


def _deployment_json(endpoint: str, **extra: Any) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "group": GROUP,
        "group_arn": f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package-group/{GROUP}",
        "account": SERVING,
        "region": REGION,
        "follows": "Approved",
        "instance_type": "ml.m5.large",
        "instance_count": 2,
        "rollout": {"strategy": "canary", "step_percent": 25, "wait_seconds": 300, "bake_seconds": 600},
        "alarms": ["mlops-fraud-detector-prod-5xx"],
        "execution_role_arn": f"arn:aws:iam::{SERVING}:role/mlops-sagemaker-execution",
        "deploy_role_arn": ROLE,
        **extra,
    }


def _env(*deployments: dict[str, Any], queue: bool = True) -> dict[str, str]:
    env = {
        "LEDGER_TABLE": "mlops-deployment-ledger",
        "TOPIC_ARN": TOPIC,
        "REGISTRY_ACCOUNT": REGISTRY,
        "DEPLOYMENTS": json.dumps(list(deployments)),
        "AWS_REGION": REGION,
    }
    if queue:
        env["QUEUE_URL"] = QUEUE
    return env


def test_a_sweep_through_the_wired_service_uses_the_lambdas_region_topic_and_queue() -> None:
    """The ledger, the topic and the queue live in the Lambda's own account and region: their clients are
    built for AWS_REGION without a role, the notification goes to TOPIC_ARN and the fan-out to QUEUE_URL."""
    clients = RecordingClients()
    service = build_service(
        _env(
            _deployment_json("fraud-detector-prod"), _deployment_json("fraud-detector-beta", instance_count=0)
        ),
        clients,  # type: ignore[arg-type]
    )
    assert clients.built == []  # nothing is built before it is used (cold start)

    assert service.handle_trigger(Sweep(event_id="sweep-1", time=None)) == []

    assert sorted(set(clients.built)) == [
        ("dynamodb", REGION, None),
        ("sns", REGION, None),
        ("sqs", REGION, None),
    ]
    by_operation = {(service_name, op): kwargs for service_name, op, kwargs in clients.calls}
    written = by_operation[("dynamodb", "put_item")]["Item"]
    assert written["endpoint_id"] == {"S": f"{SERVING}/{REGION}/fraud-detector-beta"}
    assert written["status"] == {"S": FAILED}
    published = by_operation[("sns", "publish")]
    assert published["TopicArn"] == TOPIC
    assert published["MessageAttributes"] == {"kind": {"DataType": "String", "StringValue": FAILED}}
    sent = by_operation[("sqs", "send_message_batch")]
    assert sent["QueueUrl"] == QUEUE
    bodies = [json.loads(e["MessageBody"]) for e in sent["Entries"]]
    assert [(b["detail-type"], b["detail"]["EndpointName"]) for b in bodies] == [
        ("Reconcile Endpoint", "fraud-detector-prod")
    ]
    assert [c for c in clients.calls if c[0] == "sagemaker"] == []  # the sweep itself reconciles nothing


def test_without_a_queue_the_wired_sweep_reconciles_inline_and_sends_nothing() -> None:
    clients = RecordingClients()
    service = build_service(_env(_deployment_json("fraud-detector-prod"), queue=False), clients)  # type: ignore[arg-type]
    service.handle_trigger(Sweep(event_id="sweep-1", time=None))
    assert ("sqs", REGION, None) not in clients.built
    assert ("sagemaker", REGION, ROLE) in clients.built  # the endpoint was looked at through its deploy role


def test_the_handler_leaves_a_batch_for_redelivery_when_the_lambda_has_too_little_time_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sm, notifier = FakeSageMaker(), FakeNotifier()
    service = DeployerService(make_settings(make_deployment()), sm, FakeLedger(sm), notifier)  # type: ignore[arg-type]
    monkeypatch.setattr(handler, "_SERVICE", service)
    sweep = load_event("scheduled_sweep")

    result = handler.handler(sqs_event(sweep, sweep, ids=["a", "b"]), LambdaContext(remaining_ms=10_000))

    assert result == {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}
    assert sm.calls == [] and notifier.transitions == [] and notifier.problems == []


# --- boto3 clients and STS credentials -----------------------------------------------------------------


class FakeSts:
    def __init__(self, expirations: list[datetime]) -> None:
        self.expirations = expirations
        self.assumed: list[dict[str, Any]] = []

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.assumed.append(kwargs)
        n = len(self.assumed)
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{n}",
                "SecretAccessKey": f"secret-{n}",
                "SessionToken": f"token-{n}",
                "Expiration": self.expirations[n - 1],
            }
        }


class FakeSession:
    def __init__(self, sts: FakeSts) -> None:
        self.sts = sts
        self.built: list[tuple[str, dict[str, Any]]] = []

    def client(self, service: str, **kwargs: Any) -> Any:
        self.built.append((service, kwargs))
        return self.sts if service == "sts" else object()


def test_the_sts_client_has_the_retry_config_and_renews_at_the_expiry_sts_reports() -> None:
    """STS may grant less than the hour asked for; the credentials are renewed 5 minutes before the
    Expiration it reports, not before an assumed hour."""
    start = 1_800_000_000.0
    now = [start]
    sts = FakeSts([datetime.fromtimestamp(start + 900, UTC), datetime.fromtimestamp(start + 4500, UTC)])
    session = FakeSession(sts)
    factory = ClientFactory(session=session, clock=lambda: now[0])

    first = factory.client("sagemaker", REGION, ROLE)
    assert session.built[0] == ("sts", {"config": aws.RETRY_CONFIG})
    assert session.built[1] == (
        "sagemaker",
        {
            "region_name": REGION,
            "config": aws.RETRY_CONFIG,
            "aws_access_key_id": "ASIA1",
            "aws_secret_access_key": "secret-1",
            "aws_session_token": "token-1",
        },
    )
    assert sts.assumed == [{"RoleArn": ROLE, "RoleSessionName": "mlops-deployer", "DurationSeconds": 3600}]

    now[0] = start + 599  # 301 s before the reported expiry: still good
    assert factory.client("sagemaker", REGION, ROLE) is first
    now[0] = start + 601  # inside the 5-minute renewal window of the reported expiry
    assert factory.client("sagemaker", REGION, ROLE) is not first
    assert len(sts.assumed) == 2
    assert session.built[-1][1]["aws_access_key_id"] == "ASIA2"


def test_the_sandbox_has_one_client_factory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws, "_FACTORY", None)
    made = aws.factory()
    assert isinstance(made, ClientFactory)
    assert aws.factory() is made  # warm invocations reuse its clients and credentials


# --- SNS subject and text ------------------------------------------------------------------------------


def _entry(status: str = LIVE, **overrides: Any) -> LedgerEntry:
    values: dict[str, Any] = {
        "status": status,
        "endpoint": "fraud-detector-prod",
        "account": SERVING,
        "region": REGION,
        "group": GROUP,
        "model_package_arn": package_arn(7),
        "version": 7,
        "serving_version": 7,
        "previous_version": 6,
    }
    values.update(overrides)
    return LedgerEntry(**values)


def test_subjects_name_the_endpoint_and_what_happened_to_which_version() -> None:
    assert subject_for(_entry(LIVE)) == "[mlops] fraud-detector-prod: version 7 is live"
    assert subject_for(_entry(ROLLED_BACK)) == "[mlops] fraud-detector-prod: version 7 ROLLED BACK"
    assert subject_for(_entry(SKIPPED)) == "[mlops] fraud-detector-prod: version 7 deferred"
    assert subject_for(_entry(SKIPPED, version=None)) == "[mlops] fraud-detector-prod: nothing to deploy"
    # a failure that is not a version's (a refused deployment entry, a retired endpoint) names none
    assert subject_for(_entry(FAILED, version=None)) == "[mlops] fraud-detector-prod: FAILED"


def test_a_subject_replaces_what_sns_refuses_up_to_and_including_del() -> None:
    # SNS subjects: ASCII from space (32) to tilde (126); DEL (127) and anything beyond become '?'
    assert subject_for(_entry(endpoint="a~b\x7fc\u00e9d\x1fe")) == "[mlops] a~b?c?d?e: version 7 is live"


def test_the_message_says_who_approved_and_which_versions_serve() -> None:
    lines = message_for(_entry(LIVE)).splitlines()
    assert lines[:6] == [
        f"Endpoint fraud-detector-prod ({SERVING}, {REGION}), group {GROUP}: live.",
        f"Version: 7 ({package_arn(7)})",
        "Now serving: version 7; before: version 6",
        "Approved by: unknown",
        "Rollout: -",
        "Reason: -",
    ]
    assert message_for(_entry(serving_version=None, previous_version=None)).splitlines()[2] == (
        "Now serving: unknown; before: unknown"
    )


def test_a_transition_is_published_with_its_subject() -> None:
    published: list[dict[str, Any]] = []

    class Sns:
        def publish(self, **kwargs: Any) -> None:
            published.append(kwargs)

    entry = _entry(ROLLED_BACK)
    Notifier(Sns(), TOPIC).transition(entry)
    assert published == [
        {
            "TopicArn": TOPIC,
            "Subject": "[mlops] fraud-detector-prod: version 7 ROLLED BACK",
            "Message": message_for(entry),
            "MessageAttributes": {"kind": {"DataType": "String", "StringValue": ROLLED_BACK}},
        }
    ]


# --- ledger items ----------------------------------------------------------------------------------------


class RecordingTable:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_item(self, **kwargs: Any) -> None:
        self.items.append(kwargs["Item"])


def test_a_list_in_a_ledger_item_is_stored_as_a_dynamodb_list() -> None:
    table = RecordingTable()
    ledger = Ledger(table, "mlops-deployment-ledger", clock=lambda: datetime(2026, 11, 20, 10, tzinfo=UTC))
    ledger.append(_entry(rollout={"strategy": "canary", "alarms": ["mlops-5xx", "mlops-latency"]}))
    assert table.items[0]["rollout"] == {
        "M": {
            "strategy": {"S": "canary"},
            "alarms": {"L": [{"S": "mlops-5xx"}, {"S": "mlops-latency"}]},
        }
    }


def test_a_value_dynamodb_cannot_hold_is_refused_naming_its_type() -> None:
    ledger = Ledger(RecordingTable(), "mlops-deployment-ledger")
    with pytest.raises(TypeError) as refused:
        ledger.append(_entry(rollout={"sizes": {1, 2}}))
    assert str(refused.value) == "cannot store set in the ledger"


# --- config error texts ------------------------------------------------------------------------------------


def test_retired_endpoints_with_bad_fields_are_refused_with_what_is_allowed() -> None:
    retired = {"endpoint": "fraud-detector-old", "account": SERVING, "region": REGION, "on_remove": "delete"}
    settings = load_settings(
        _env(
            {**retired, "on_remove": "destroy"},
            {**retired, "endpoint": "old_endpoint"},
            {**retired, "account": "12345"},
            {**retired, "deploy_role_arn": "mlops-deploy-access"},
        )
    )
    assert [i.reason for i in settings.invalid] == [
        "DEPLOYMENTS[0].on_remove: 'destroy': allowed values are delete, keep",
        "DEPLOYMENTS[1].endpoint: 'old_endpoint': expected 1-63 letters, digits and hyphens",
        "DEPLOYMENTS[2].account: '12345': expected a 12-digit account id",
        "DEPLOYMENTS[3].deploy_role_arn: 'mlops-deploy-access': expected an IAM role ARN or null",
    ]


# --- admission -----------------------------------------------------------------------------------------------


def test_a_change_only_json_types_tell_apart_is_refused_naming_the_whole_specification() -> None:
    # true and 1 are equal in Python but not in the pinned JSON: a change, with no single field to name
    reason = admission.changed_since_approval('{"EnableSSMAccess":true}', {"EnableSSMAccess": 1})
    assert reason == (
        "changed after approval: InferenceSpecification. A version's specification is pinned at its first "
        "approval; register a new version to change what runs"
    )


# --- the new fleet's rollback alarms ---------------------------------------------------------------------------


def test_a_deploy_role_cloudwatch_cannot_assume_is_refused_naming_the_role() -> None:
    deployment = make_deployment()

    class SageMaker:
        def __getattr__(self, operation: str) -> Any:
            return lambda **kwargs: {}

    def cloudwatch_for(region: str, role: str | None) -> Any:
        raise _client_error("AccessDenied", "not authorized to perform sts:AssumeRole", "AssumeRole")

    plan = DeployPlan(
        kind="update",
        package=Package(package_arn(7), 7),
        model_name="fraud-detector-prod-7",
        config_name="fraud-detector-prod-7-a",
        variant_name="AllTraffic",
        instance_type="ml.m5.large",
        instance_count=2,
        execution_role_arn=deployment.execution_role_arn,
        deployment_config={},
        alarm_requests=({"AlarmName": "mlops-rollback-fraud-detector-prod-7-a-5xx"},),
    )
    gateway = SageMakerGateway(lambda region, role: SageMaker(), cloudwatch_for)
    with pytest.raises(PermanentError) as refused:
        gateway.deploy(deployment, plan)
    assert refused.value.reason == (
        f"sts:AssumeRole {deployment.deploy_role_arn}: AccessDenied: not authorized to perform sts:AssumeRole"
    )


# --- events as AWS sends them ----------------------------------------------------------------------------


def test_the_scheduled_sweep_keeps_its_event_id_and_a_zoneless_time_is_utc() -> None:
    sweep = load_event("scheduled_sweep")
    assert parse_event(sweep) == Sweep(
        event_id="89d1a02d-5ec7-412e-82f5-13505f849b41", time=datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
    )
    zoneless = parse_event({**sweep, "time": "2026-11-20T10:15:00"})
    assert zoneless.time == datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


def test_a_record_without_a_body_is_one_malformed_message_not_a_failed_batch() -> None:
    messages = parse_sqs_event(
        {
            "Records": [
                {"messageId": "m1"},
                {"messageId": "m2", "body": json.dumps(load_event("scheduled_sweep"))},
            ]
        }
    )
    assert [m.message_id for m in messages] == ["m1", "m2"]
    assert messages[0].trigger is None and messages[0].error is not None
    assert messages[0].error.reason == "SQS record without a string 'body'"
    assert isinstance(messages[1].trigger, Sweep)


def test_an_unversioned_package_event_parses_without_a_version() -> None:
    event = load_event("model_package_approved")
    detail = {
        key: value
        for key, value in event["detail"].items()
        if key not in ("ModelPackageVersion", "ModelPackageArn")
    }
    detail["ModelPackageArn"] = (
        f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package/fraud-detector-standalone"
    )
    [message] = parse_sqs_event(sqs_event({**event, "detail": detail}))
    assert isinstance(message.trigger, ModelPackageChange)
    assert message.trigger.version is None and message.trigger.group == GROUP


def test_the_approver_is_the_user_profile_before_the_iam_identity_and_blanks_are_nobody() -> None:
    identity = {"Arn": f"arn:aws:sts::{REGISTRY}:assumed-role/mlops-fraud-approver/alice"}
    assert audit_fields({"LastModifiedBy": {"UserProfileName": "alice-studio", "IamIdentity": identity}}) == (
        "alice-studio",
        None,
    )
    assert audit_fields({"LastModifiedBy": {"IamIdentity": identity}, "ApprovalDescription": "ok"}) == (
        identity["Arn"],
        "ok",
    )
    assert audit_fields({"LastModifiedBy": {"UserProfileName": ""}, "ApprovalDescription": ""}) == (
        None,
        None,
    )


def test_a_stage_approved_older_version_is_superseded_by_the_newer_staged_one() -> None:
    """The stage event's ModelLifeCycle.StageStatus reaches the decision: version 7 staged
    Production/Approved while version 9 serves is recorded as superseded."""
    deployment = make_deployment(follows="Production")
    event = parse_event(load_event("model_package_stage_production"))
    assert isinstance(event, ModelPackageChange) and (event.stage, event.stage_status) == (
        "Production",
        "Approved",
    )
    decision = controller.decide(
        deployment,
        pkg(9, stage="Production"),
        serving(9),
        [item(LIVE, 9, serving_version=9)],
        event,
    )
    assert [(r.status, r.version) for r in decision.records] == [(SUPERSEDED, 7)]


# --- pins and ledger items read back ----------------------------------------------------------------------


def test_the_pinned_specification_is_compact_canonical_json_and_an_old_pin_still_matches() -> None:
    spec = {"SupportedContentTypes": ["text/csv"], "Containers": [{"Image": "xgboost:1.7-1"}]}
    pinned = '{"Containers":[{"Image":"xgboost:1.7-1"}],"SupportedContentTypes":["text/csv"]}'
    assert admission.canonical_spec(spec) == pinned
    assert admission.changed_since_approval(pinned, spec) is None


class QueryableTable(RecordingTable):
    def query(self, **kwargs: Any) -> dict[str, Any]:
        return {"Items": list(reversed(self.items))}


def test_a_ledger_item_reads_back_as_written_lists_fractions_and_nulls_included() -> None:
    table = QueryableTable()
    ledger = Ledger(table, "mlops-deployment-ledger", clock=lambda: datetime(2026, 11, 20, 10, tzinfo=UTC))
    stored = ledger.append(
        _entry(
            rollout={
                "strategy": "canary",
                "alarms": ["mlops-5xx"],
                "weight": 0.25,
                "max_execution_seconds": None,
            }
        )
    )
    assert ledger.recent(stored.endpoint_id) == [stored]
    assert stored.rollout == {
        "strategy": "canary",
        "alarms": ["mlops-5xx"],
        "weight": 0.25,
        "max_execution_seconds": None,
    }


def test_a_second_pin_for_the_same_version_at_the_same_instant_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """First write wins (moto 5 evaluates the condition as DynamoDB does)."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        ddb = create_ledger_table()
        pins = ApprovalPins(
            ddb, "mlops-deployment-ledger", clock=lambda: datetime(2026, 11, 20, 10, tzinfo=UTC)
        )
        first = pins.record(package_arn(7), '{"a":1}', "sha256:aa", "evt-1")
        with pytest.raises(ClientError) as refused:
            pins.record(package_arn(7), '{"a":2}', "sha256:bb", "evt-2")
        assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
        assert pins.get(package_arn(7)) == first


def test_a_retired_endpoint_already_deleting_is_left_to_finish() -> None:
    """DeleteEndpoint on an endpoint in Deleting would be refused; the deployer only reports it on its way."""
    calls: list[str] = []

    class SageMaker:
        def describe_endpoint(self, **kwargs: Any) -> dict[str, Any]:
            calls.append("describe_endpoint")
            return {"EndpointName": kwargs["EndpointName"], "EndpointStatus": "Deleting"}

        def __getattr__(self, operation: str) -> Any:
            calls.append(operation)
            return lambda **kwargs: {}

    retired = RetiredEndpoint(
        endpoint="fraud-detector-old",
        account=SERVING,
        region=REGION,
        on_remove="delete",
        deploy_role_arn=ROLE,
    )
    assert SageMakerGateway(lambda region, role: SageMaker()).delete_retired(retired) == "deleting"
    assert calls == ["describe_endpoint"]
