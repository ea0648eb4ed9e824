"""The AWS adapters, the ledger and the handler against moto 5.2.5 plus the project's emulator
extension (``local.emulator``: UpdateEndpoint, endpoint status transitions, registry events).

Also the call budget, counted with botocore ``before-call`` event hooks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from deployer import aws, controller, handler, names
from deployer.aws import ClientFactory
from deployer.errors import EndpointBusy, TransientError
from deployer.ledger import Ledger, format_at, history, served_at
from deployer.models import IN_PROGRESS, LIVE, ROLLED_BACK, LedgerEntry
from deployer.sagemaker_gateway import SageMakerGateway
from deployer.settings import load_settings
from moto import mock_aws
from moto.core.base_backend import BackendDict
from moto.core.models import reset_model_data

from local.emulator import advance, install, reset_clock
from tests.unit.deployer.deployer_fakes import LambdaContext, load_event, sqs_event

REGION = "eu-west-1"
REGISTRY = "123456789012"  # moto's default account: the deployer's own
SERVING = "333333333333"
GROUP = "fraud-detector"
TABLE = "mlops-deployment-ledger"
ALARMS = ["mlops-fraud-detector-prod-5xx", "mlops-fraud-detector-prod-latency"]
WRITE_CALLS = {
    "CreateModel",
    "CreateEndpointConfig",
    "UpdateEndpoint",
    "CreateEndpoint",
    "PutItem",
    "Publish",
}


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)


@pytest.fixture(scope="module")
def _mocked() -> Iterator[None]:
    install()
    with mock_aws():
        yield


@pytest.fixture
def moto_aws(_mocked: None) -> Iterator[None]:
    BackendDict.reset()
    reset_model_data()
    reset_clock()
    aws.reset()
    handler._SERVICE = None
    yield
    handler._SERVICE = None
    aws.reset()
    reset_clock()


def deployment_json(
    endpoint: str = "fraud-detector-prod", *, cross_account: bool = True, **extra: Any
) -> dict[str, Any]:
    account = SERVING if cross_account else REGISTRY
    return {
        "endpoint": endpoint,
        "group": GROUP,
        "group_arn": f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package-group/{GROUP}",
        "account": account,
        "region": REGION,
        "follows": "Approved",
        "instance_type": "ml.m5.large",
        "instance_count": 2,
        "rollout": {"strategy": "canary", "step_percent": 25, "wait_seconds": 300, "bake_seconds": 600},
        "alarms": ALARMS,
        "execution_role_arn": f"arn:aws:iam::{account}:role/mlops-sagemaker-execution",
        "deploy_role_arn": f"arn:aws:iam::{account}:role/mlops-deploy-access" if cross_account else None,
        **extra,
    }


def make_env(*deployments: dict[str, Any], topic_arn: str) -> dict[str, str]:
    return {
        "LEDGER_TABLE": TABLE,
        "TOPIC_ARN": topic_arn,
        "REGISTRY_ACCOUNT": REGISTRY,
        "DEPLOYMENTS": json.dumps(list(deployments)),
        "AWS_REGION": REGION,
    }


def create_ledger_table() -> Any:
    ddb = boto3.client("dynamodb", region_name=REGION)
    ddb.create_table(
        TableName=TABLE,
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
    return ddb


SPEC = {
    "Containers": [
        {"Image": f"{REGISTRY}.dkr.ecr.{REGION}.amazonaws.com/xgb:1", "ModelDataUrl": "s3://b/m.tar.gz"}
    ],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def register(sm: Any, *, approve: bool = True) -> str:
    arn = sm.create_model_package(ModelPackageGroupName=GROUP, InferenceSpecification=SPEC)["ModelPackageArn"]
    if approve:
        sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    return arn


def approval_event(arn: str, status: str = "Approved") -> dict[str, Any]:
    event = load_event("model_package_approved")
    event["account"] = REGISTRY
    event["detail"]["ModelPackageArn"] = arn
    event["detail"]["ModelPackageVersion"] = int(arn.rsplit("/", 1)[1])
    event["detail"]["ModelApprovalStatus"] = status
    event["detail"]["InferenceSpecification"] = SPEC  # the event carries what the version runs
    event["id"] = f"evt-{arn.rsplit('/', 1)[1]}-{status}"
    return event


def endpoint_event(name: str, account: str, status: str = "IN_SERVICE") -> dict[str, Any]:
    event = load_event("endpoint_in_service")
    event["account"] = account
    event["detail"]["EndpointName"] = name
    event["detail"]["EndpointArn"] = f"arn:aws:sagemaker:{REGION}:{account}:endpoint/{name.lower()}"
    event["detail"]["EndpointStatus"] = status
    return event


class CallCounter:
    """Counts AWS API calls made through clients of one boto3 session (botocore event hooks)."""

    def __init__(self, session: boto3.Session) -> None:
        self.calls: list[str] = []
        session.events.register("before-call.*.*", self._count)

    def _count(self, model: Any, **_kwargs: Any) -> None:
        self.calls.append(model.name)

    def take(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls


@pytest.fixture
def world(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Registry + ledger + topic in the registry account; a counting client factory for the handler."""
    sm = boto3.client("sagemaker", region_name=REGION)
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    create_ledger_table()
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="mlops-deployments")["TopicArn"]
    session = boto3.Session(region_name=REGION)
    counter = CallCounter(session)
    factory = ClientFactory(session=session)
    monkeypatch.setattr(aws, "_FACTORY", factory)
    return {"sm": sm, "topic": topic, "counter": counter, "factory": factory}


def invoke(*events: dict[str, Any]) -> dict[str, Any]:
    return handler.handler(sqs_event(*events), LambdaContext())


def serving_sm(account: str) -> Any:
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/inspector", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        "sagemaker",
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


# --- gateway ----------------------------------------------------------------------------------------------


def test_list_is_newest_first_and_paginates(world, monkeypatch):
    sm = world["sm"]
    arns = [register(sm, approve=i != 3) for i in range(5)]  # version 4 stays pending
    monkeypatch.setattr("deployer.sagemaker_gateway.PAGE_SIZE", 2)
    deployment = load_settings(make_env(deployment_json(), topic_arn=world["topic"])).deployments[0]
    gateway = SageMakerGateway(lambda region, role: world["factory"].client("sagemaker", region, role))
    world["counter"].take()
    assert [p.version for p in gateway.iter_packages(deployment)] == [5, 3, 2, 1]
    assert world["counter"].take() == ["ListModelPackages"] * 2
    # reading stops at the first match: one page
    assert controller.pick_desired(gateway.iter_packages(deployment), "Approved").arn == arns[4]  # type: ignore[union-attr]
    assert world["counter"].take() == ["ListModelPackages"]


def test_deploy_create_update_busy_and_idempotent_retries_cross_account(world):
    sm = world["sm"]
    v1, v2 = register(sm), register(sm)
    deployment = load_settings(make_env(deployment_json(), topic_arn=world["topic"])).deployments[0]
    gateway = SageMakerGateway(lambda region, role: world["factory"].client("sagemaker", region, role))
    assert gateway.describe_endpoint(deployment).exists is False

    create = controller.decide(
        deployment, controller.Package(v1, 1, "Approved"), gateway.describe_endpoint(deployment), []
    )
    assert create.deploy is not None and create.deploy.kind == "create"
    gateway.deploy(deployment, create.deploy)
    with pytest.raises(EndpointBusy):  # a concurrent create: Model and config are reused, then busy
        gateway.deploy(deployment, create.deploy)
    view = gateway.describe_endpoint(deployment)
    assert (view.status, view.config_name) == ("Creating", create.deploy.config_name)
    advance()
    view = gateway.describe_endpoint(deployment)
    assert view.status == "InService" and view.variant_name == "AllTraffic" and view.instance_count == 2

    update = controller.decide(deployment, controller.Package(v2, 2, "Approved"), view, [])
    assert update.deploy is not None and update.deploy.kind == "update"
    gateway.deploy(deployment, update.deploy)
    assert gateway.describe_endpoint(deployment).status == "Updating"
    with pytest.raises(EndpointBusy):  # model and config exist already: only UpdateEndpoint refuses
        gateway.deploy(deployment, update.deploy)
    advance()
    assert gateway.describe_endpoint(deployment).config_name == update.deploy.config_name

    # everything landed in the serving account, through the assumed deploy-access role
    serving = serving_sm(SERVING)
    described = serving.describe_endpoint_config(EndpointConfigName=update.deploy.config_name)
    assert described["ProductionVariants"][0]["ModelName"] == update.deploy.model_name
    model = serving.describe_model(ModelName=update.deploy.model_name)
    assert model["Containers"][0]["ModelPackageName"] == v2
    assert model["ExecutionRoleArn"] == deployment.execution_role_arn
    assert model["EnableNetworkIsolation"] is True  # the default of every deployment
    with pytest.raises(Exception, match="Could not find endpoint"):
        world["sm"].describe_endpoint(EndpointName=deployment.endpoint)  # not in the registry account


def test_cleanup_keeps_the_config_in_use_and_anything_not_ours(world):
    sm = world["sm"]
    deployment = load_settings(
        make_env(deployment_json(cross_account=False), topic_arn=world["topic"])
    ).deployments[0]
    gateway = SageMakerGateway(lambda region, role: world["factory"].client("sagemaker", region, role))
    sm.create_model(
        ModelName=f"{deployment.endpoint}-hand-made",
        ExecutionRoleArn=deployment.execution_role_arn,
        PrimaryContainer={"Image": "x"},
    )
    plans = []
    for version in (1, 2, 3):
        arn = register(sm)
        decision = controller.decide(
            deployment,
            controller.Package(arn, version, "Approved"),
            gateway.describe_endpoint(deployment),
            [],
        )
        assert decision.deploy is not None
        gateway.deploy(deployment, decision.deploy)
        advance()
        plans.append(decision.deploy)
    keep = plans[-1].config_name
    deleted = gateway.cleanup(deployment, keep)
    assert sorted(deleted) == sorted([p.config_name for p in plans[:2]] + [p.model_name for p in plans[:2]])
    configs = {c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]}
    models = {m["ModelName"] for m in sm.list_models()["Models"]}
    assert configs == {keep}
    assert models == {plans[-1].model_name, f"{deployment.endpoint}-hand-made"}
    assert gateway.cleanup(deployment, "not-a-deployer-config") == []


def test_throttling_is_retried_then_reported_transient(world):
    """botocore standard retries are in the client config; after them the adapter says transient."""
    deployment = load_settings(make_env(deployment_json(), topic_arn=world["topic"])).deployments[0]
    client = world["factory"].client("sagemaker", REGION)
    assert client.meta.config.retries["mode"] == "standard"
    assert client.meta.config.retries["total_max_attempts"] == 5
    gateway = SageMakerGateway(lambda region, role: client)
    with Stubber(client) as stub:
        stub.add_client_error("describe_endpoint", "ThrottlingException", "Rate exceeded", 400)
        with pytest.raises(TransientError, match="ThrottlingException"):
            gateway.describe_endpoint(deployment)
        stub.add_client_error("list_model_packages", "InternalFailure", "oops", 500)
        with pytest.raises(TransientError):
            list(gateway.iter_packages(deployment))


def test_sts_credentials_are_cached_per_role_and_renewed_before_expiry(world):
    now = [1_000_000.0]
    session = boto3.Session(region_name=REGION)
    counter = CallCounter(session)
    factory = ClientFactory(session=session, clock=lambda: now[0])
    role = f"arn:aws:iam::{SERVING}:role/mlops-deploy-access"
    first = factory.client("sagemaker", REGION, role)
    assert factory.client("sagemaker", REGION, role) is first
    factory.client("sagemaker", "us-east-1", role)  # another client, same credentials
    assert counter.take() == ["AssumeRole"]
    expiry = factory._credentials[role][1]
    now[0] = expiry - 60  # inside the renewal window
    assert factory.client("sagemaker", REGION, role) is not first
    assert counter.take() == ["AssumeRole"]


# --- ledger ------------------------------------------------------------------------------------------------


def test_ledger_served_at_is_one_query(moto_aws):
    ddb = create_ledger_table()
    times = iter(
        [
            datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
            datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
            datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
            datetime(2026, 11, 20, 11, 0, tzinfo=UTC),
        ]
    )
    ledger = Ledger(ddb, TABLE, clock=lambda: next(times))
    key = f"{SERVING}/{REGION}/fraud-detector-prod"

    def entry(status: str, version: int, serving: int) -> LedgerEntry:
        return LedgerEntry(
            status=status,
            endpoint="fraud-detector-prod",
            account=SERVING,
            region=REGION,
            group=GROUP,
            version=version,
            serving_version=serving,
            rollout={"strategy": "canary", "step_percent": 25},
        )

    a = ledger.append(entry(LIVE, 6, 6))
    b = ledger.append(entry(IN_PROGRESS, 7, 6))
    c = ledger.append(entry(LIVE, 7, 7))  # same clock reading: one microsecond later
    d = ledger.append(entry(ROLLED_BACK, 8, 7))
    assert a.at == "2026-11-20T09:00:00.000000Z" and c.at == "2026-11-20T10:00:00.000001Z"
    assert c.endpoint_id == key and c.rollout == {"strategy": "canary", "step_percent": 25}

    session = boto3.Session(region_name=REGION)
    counter = CallCounter(session)
    client = session.client("dynamodb")
    assert served_at(client, TABLE, key, "2026-11-20T08:59:59Z") is None
    assert served_at(client, TABLE, key, "2026-11-20T09:30:00Z").serving_version == 6  # type: ignore[union-attr]
    assert served_at(client, TABLE, key, "2026-11-20T10:00:00Z").serving_version == 6  # type: ignore[union-attr]
    assert served_at(client, TABLE, key, datetime(2026, 11, 20, 10, 30, tzinfo=UTC)) == c
    assert served_at(client, TABLE, key, "2026-11-20T12:00:00+01:00").serving_version == 7  # type: ignore[union-attr]
    assert counter.take() == ["Query"] * 5
    assert [e.at for e in history(client, TABLE, key)] == [d.at, c.at, b.at, a.at]
    assert [e.version for e in history(client, TABLE, key, newest_first=False, limit=2)] == [6, 7]
    assert ledger.recent(key, 2) == [d, c]
    assert format_at(datetime(2026, 1, 1) + timedelta(microseconds=5)) == "2026-01-01T00:00:00.000005Z"


# --- handler, end to end on moto + emulator -------------------------------------------------------------------


def ledger_items(endpoint: str, account: str) -> list[LedgerEntry]:
    client = boto3.client("dynamodb", region_name=REGION)
    return list(history(client, TABLE, f"{account}/{REGION}/{endpoint}", newest_first=False))


def test_handler_approval_update_rollback_and_call_budget(world, monkeypatch, capsys):
    sm, counter = world["sm"], world["counter"]
    for key, value in make_env(deployment_json(), topic_arn=world["topic"]).items():
        monkeypatch.setenv(key, value)
    v1 = register(sm)

    # first approval: the endpoint does not exist yet -> CreateEndpoint
    assert invoke(approval_event(v1)) == {"batchItemFailures": []}
    advance()
    assert invoke(endpoint_event("fraud-detector-prod", SERVING)) == {"batchItemFailures": []}
    assert [(i.status, i.version) for i in ledger_items("fraud-detector-prod", SERVING)] == [
        (IN_PROGRESS, 1),
        (LIVE, 1),
    ]

    # an approval that leads to an update: at most 15 calls including the ledger write (STS cached),
    # the new fleet's two rollback alarms, two reads of the live serving settings
    # (DescribeEndpointConfig, DescribeScalableTargets) and three that pin what was approved and check it
    # before deploying (issue 9): the pin's Query and PutItem, and DescribeModelPackage for what runs now
    v2 = register(sm)
    counter.take()
    invoke(approval_event(v2))
    calls = counter.take()
    print("approval -> update calls:", calls)
    assert len(calls) <= 15 and "AssumeRole" not in calls
    assert calls.count("PutMetricAlarm") == 2
    assert calls.count("UpdateEndpoint") == 1 and calls.count("PutItem") == 2
    status = serving_sm(SERVING).describe_endpoint(EndpointName="fraud-detector-prod")
    assert status["EndpointStatus"] == "Updating"

    # duplicate event: at most 3 read calls, no write
    invoke(approval_event(v2))
    calls = counter.take()
    print("duplicate calls:", calls)
    assert len(calls) <= 3 and not WRITE_CALLS & set(calls)

    # the canary trips the new fleet's alarm (made by the deployer): SageMaker rolls back silently
    cw = serving_cloudwatch(SERVING)
    config = serving_sm(SERVING).describe_endpoint(EndpointName="fraud-detector-prod")["LastDeploymentConfig"]
    alarm = config["AutoRollbackConfiguration"]["Alarms"][0]["AlarmName"]
    assert alarm.endswith("-5xx") and cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="5xx during canary")
    advance()
    advance()
    assert invoke(endpoint_event("fraud-detector-prod", SERVING)) == {"batchItemFailures": []}
    items = ledger_items("fraud-detector-prod", SERVING)
    assert [(i.status, i.version) for i in items][-2:] == [(IN_PROGRESS, 2), (ROLLED_BACK, 2)]
    assert items[-1].serving_version == 1 and items[-1].approved_by
    # and it is not retried: sweeps and duplicates make no write
    counter.take()
    invoke(load_event("scheduled_sweep"), approval_event(v2))
    assert not WRITE_CALLS & set(counter.take())


def serving_cloudwatch(account: str) -> Any:
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/inspector", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        "cloudwatch",
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def test_handler_rejecting_live_version_rolls_back_and_cleans_up(world, monkeypatch):
    sm = world["sm"]
    for key, value in make_env(deployment_json(cross_account=False), topic_arn=world["topic"]).items():
        monkeypatch.setenv(key, value)
    v1 = register(sm)
    invoke(approval_event(v1))
    advance()
    invoke(endpoint_event("fraud-detector-prod", REGISTRY))
    v2 = register(sm)
    invoke(approval_event(v2))
    advance()
    invoke(endpoint_event("fraud-detector-prod", REGISTRY))
    sm.update_model_package(ModelPackageArn=v2, ModelApprovalStatus="Rejected")
    invoke(approval_event(v2, "Rejected"))
    advance()
    invoke(endpoint_event("fraud-detector-prod", REGISTRY))
    endpoint = sm.describe_endpoint(EndpointName="fraud-detector-prod")
    assert names.parse("fraud-detector-prod", endpoint["EndpointConfigName"]).version == 1  # type: ignore[union-attr]
    items = ledger_items("fraud-detector-prod", REGISTRY)
    assert [(i.status, i.version, i.serving_version) for i in items][-2:] == [
        (IN_PROGRESS, 1, 2),
        (LIVE, 1, 1),
    ]
    configs = [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    assert endpoint["EndpointConfigName"] in configs
    assert endpoint["ProductionVariants"][0]["VariantName"] == "AllTraffic"


def test_handler_reports_only_transient_failures(world, monkeypatch):
    for key, value in make_env(deployment_json(cross_account=False), topic_arn=world["topic"]).items():
        monkeypatch.setenv(key, value)
    bad = approval_event("arn:aws:sagemaker:eu-west-1:123456789012:model-package/fraud-detector/1")
    unknown = json.loads(json.dumps(bad))
    unknown["detail"]["ModelPackageGroupName"] = "not-managed"
    result = handler.handler(
        sqs_event(bad, "{broken", unknown, ids=["ok", "malformed", "unknown"]), LambdaContext()
    )
    assert result == {"batchItemFailures": []}  # permanent problems are recorded/notified and acknowledged

    def throttled(self, deployment):
        raise TransientError("list_model_packages: ThrottlingException: Rate exceeded (retries exhausted)")

    monkeypatch.setattr("deployer.sagemaker_gateway.SageMakerGateway.describe_endpoint", throttled)
    result = handler.handler(sqs_event(bad, load_event("scheduled_sweep"), ids=["a", "b"]), LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}


# --- config changes reach live endpoints ----------------------------------------------------------------


def new_sandbox(monkeypatch: pytest.MonkeyPatch, *deployments: dict[str, Any], topic_arn: str) -> None:
    """What `cdk deploy` of a changed config does to the deployer: new code (deployments.json), so
    new sandboxes that read the new settings."""
    for key, value in make_env(*deployments, topic_arn=topic_arn).items():
        monkeypatch.setenv(key, value)
    handler._SERVICE = None


def sweep_event() -> dict[str, Any]:
    return load_event("scheduled_sweep")


def live_variant(account: str, endpoint: str = "fraud-detector-prod") -> dict[str, Any]:
    sm = serving_sm(account)
    described = sm.describe_endpoint(EndpointName=endpoint)
    config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    return {**config["ProductionVariants"][0], "EndpointStatus": described["EndpointStatus"]}


def serving_autoscaling(account: str) -> Any:
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/inspector", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        "application-autoscaling",
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def _deployed_v1(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, **settings: Any) -> None:
    new_sandbox(monkeypatch, deployment_json(**settings), topic_arn=world["topic"])
    assert invoke(approval_event(register(world["sm"]))) == {"batchItemFailures": []}
    advance()
    assert invoke(endpoint_event("fraud-detector-prod", SERVING)) == {"batchItemFailures": []}


def test_an_instance_type_change_rolls_out_blue_green_at_the_next_sweep(world, monkeypatch):
    _deployed_v1(world, monkeypatch)
    assert live_variant(SERVING)["InstanceType"] == "ml.m5.large"
    invoke(sweep_event())
    assert [i.status for i in ledger_items("fraud-detector-prod", SERVING)] == [IN_PROGRESS, LIVE]

    new_sandbox(monkeypatch, deployment_json(instance_type="ml.m5.xlarge"), topic_arn=world["topic"])
    assert invoke(sweep_event()) == {"batchItemFailures": []}
    started = ledger_items("fraud-detector-prod", SERVING)[-1]
    assert started.status == IN_PROGRESS and started.version == 1 and started.serving_version == 1
    assert started.reason == (
        "config change: instance_type ml.m5.large -> ml.m5.xlarge; update of version 1 (canary) started"
    )
    assert live_variant(SERVING)["EndpointStatus"] == "Updating"
    advance()
    assert invoke(endpoint_event("fraud-detector-prod", SERVING)) == {"batchItemFailures": []}
    variant = live_variant(SERVING)
    assert (variant["InstanceType"], variant["InitialInstanceCount"], variant["VariantName"]) == (
        "ml.m5.xlarge",
        2,
        "AllTraffic",
    )
    done = ledger_items("fraud-detector-prod", SERVING)[-1]
    assert done.status == LIVE and (done.reason or "").startswith("config change is live: version 1")
    world["counter"].take()
    invoke(sweep_event())  # settled: nothing more to do
    assert not WRITE_CALLS & set(world["counter"].take())


def test_a_live_model_on_the_former_shared_role_moves_to_the_teams_role_at_the_next_sweep(world, monkeypatch):
    """The upgrade path (README): a former release ran every model as mlops-sagemaker-execution, the new
    one names the team's role. The sweep reads the live model's ExecutionRoleArn (DescribeModel, called
    because the model's name is not the one the configured role gives) and rolls version 1 onto the
    team's role; once there, a sweep needs no DescribeModel and writes nothing."""
    _deployed_v1(world, monkeypatch)
    team_role = f"arn:aws:iam::{SERVING}:role/mlops-fraud-serving"
    new_sandbox(monkeypatch, deployment_json(execution_role_arn=team_role), topic_arn=world["topic"])
    world["counter"].take()
    assert invoke(sweep_event()) == {"batchItemFailures": []}
    assert "DescribeModel" in world["counter"].take()
    started = ledger_items("fraud-detector-prod", SERVING)[-1]
    assert started.status == IN_PROGRESS and started.version == 1
    assert started.reason == (
        "config change: execution role mlops-sagemaker-execution -> mlops-fraud-serving; "
        "update of version 1 (canary) started"
    )
    advance()
    assert invoke(endpoint_event("fraud-detector-prod", SERVING)) == {"batchItemFailures": []}
    model = serving_sm(SERVING).describe_model(ModelName=live_variant(SERVING)["ModelName"])
    assert model["ExecutionRoleArn"] == team_role
    containers = model.get("Containers") or [model["PrimaryContainer"]]
    assert containers[0]["ModelPackageName"].endswith("/1")
    done = ledger_items("fraud-detector-prod", SERVING)[-1]
    assert done.status == LIVE and (done.reason or "").startswith("config change is live: version 1")
    world["counter"].take()
    invoke(sweep_event())
    calls = world["counter"].take()
    assert "DescribeModel" not in calls and not WRITE_CALLS & set(calls)


def test_turning_network_isolation_off_rolls_the_serving_version_onto_a_model_without_it(world, monkeypatch):
    """The live model was made with EnableNetworkIsolation (the default); the deployment now turns it off.
    The model's name no longer matches, DescribeModel tells the live setting, and version 1 rolls onto a new
    model created without isolation; once there, a sweep reads nothing more and writes nothing."""
    _deployed_v1(world, monkeypatch)
    model = serving_sm(SERVING).describe_model(ModelName=live_variant(SERVING)["ModelName"])
    assert model["EnableNetworkIsolation"] is True
    new_sandbox(monkeypatch, deployment_json(network_isolation=False), topic_arn=world["topic"])
    world["counter"].take()
    assert invoke(sweep_event()) == {"batchItemFailures": []}
    assert "DescribeModel" in world["counter"].take()
    started = ledger_items("fraud-detector-prod", SERVING)[-1]
    assert started.status == IN_PROGRESS and started.reason == (
        "config change: network_isolation true -> false; update of version 1 (canary) started"
    )
    advance()
    assert invoke(endpoint_event("fraud-detector-prod", SERVING)) == {"batchItemFailures": []}
    model = serving_sm(SERVING).describe_model(ModelName=live_variant(SERVING)["ModelName"])
    assert model["EnableNetworkIsolation"] is False
    assert ledger_items("fraud-detector-prod", SERVING)[-1].status == LIVE
    world["counter"].take()
    invoke(sweep_event())
    calls = world["counter"].take()
    assert "DescribeModel" not in calls and not WRITE_CALLS & set(calls)


def test_a_count_change_without_autoscaling_rolls_out_a_new_fleet(world, monkeypatch):
    _deployed_v1(world, monkeypatch)
    new_sandbox(monkeypatch, deployment_json(instance_count=3), topic_arn=world["topic"])
    invoke(sweep_event())
    advance()
    invoke(endpoint_event("fraud-detector-prod", SERVING))
    assert live_variant(SERVING)["InitialInstanceCount"] == 3
    reasons = [i.reason for i in ledger_items("fraud-detector-prod", SERVING)]
    assert (reasons[-2] or "").startswith("config change: instance_count 2 -> 3;")


def test_a_count_change_of_an_autoscaled_variant_moves_the_autoscaling_minimum(world, monkeypatch):
    _deployed_v1(world, monkeypatch)
    scaling = serving_autoscaling(SERVING)
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/fraud-detector-prod/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    }
    scaling.register_scalable_target(**target, MinCapacity=2, MaxCapacity=6)
    config_before = live_variant(SERVING)

    new_sandbox(monkeypatch, deployment_json(instance_count=4), topic_arn=world["topic"])
    world["counter"].take()
    assert invoke(sweep_event()) == {"batchItemFailures": []}
    calls = world["counter"].take()
    assert "RegisterScalableTarget" in calls and "UpdateEndpoint" not in calls  # no second fleet
    (registered,) = scaling.describe_scalable_targets(
        ServiceNamespace="sagemaker", ResourceIds=[target["ResourceId"]]
    )["ScalableTargets"]
    assert (registered["MinCapacity"], registered["MaxCapacity"]) == (4, 6)
    assert live_variant(SERVING)["VariantName"] == config_before["VariantName"]
    last = ledger_items("fraud-detector-prod", SERVING)[-1]
    assert last.status == LIVE and "autoscaling minimum 2 -> 4" in (last.reason or "")
    world["counter"].take()
    invoke(sweep_event())  # the minimum matches now: nothing written
    assert not ({"RegisterScalableTarget", "PutItem"} & set(world["counter"].take()))

    # an instance type change of the autoscaled variant: refused once, with what to do
    new_sandbox(
        monkeypatch, deployment_json(instance_count=4, instance_type="ml.c5.xlarge"), topic_arn=world["topic"]
    )
    invoke(sweep_event())
    invoke(sweep_event())
    refused = [i for i in ledger_items("fraud-detector-prod", SERVING) if i.status == "failed"]
    assert len(refused) == 1 and "deregister the scalable target" in (refused[0].reason or "")
    assert live_variant(SERVING)["InstanceType"] == "ml.m5.large"


def test_a_retired_endpoint_with_on_remove_delete_goes_with_its_configs_and_models(world, monkeypatch):
    _deployed_v1(world, monkeypatch)
    retired = {
        "endpoint": "fraud-detector-prod",
        "account": SERVING,
        "region": REGION,
        "on_remove": "delete",
        "deploy_role_arn": f"arn:aws:iam::{SERVING}:role/mlops-deploy-access",
    }
    new_sandbox(monkeypatch, retired, topic_arn=world["topic"])
    assert invoke(sweep_event()) == {"batchItemFailures": []}
    last = ledger_items("fraud-detector-prod", SERVING)[-1]
    assert last.status == "deleted" and last.previous_version == 1 and last.serving_version is None
    sm = serving_sm(SERVING)
    with pytest.raises(sm.exceptions.ClientError, match="Could not find endpoint"):
        sm.describe_endpoint(EndpointName="fraud-detector-prod")  # the emulator deletes at once
    advance()
    world["counter"].take()
    invoke(sweep_event())  # gone: its generated configs and models go too, no second ledger entry
    calls = world["counter"].take()
    assert "DeleteEndpointConfig" in calls and "DeleteModel" in calls and "PutItem" not in calls
    base = names.endpoint_base("fraud-detector-prod")
    assert sm.list_endpoint_configs(NameContains=base)["EndpointConfigs"] == []
    assert sm.list_models(NameContains=base)["Models"] == []


def test_a_kept_retired_endpoint_is_left_alone(world, monkeypatch):
    _deployed_v1(world, monkeypatch)
    kept = {"endpoint": "fraud-detector-prod", "account": SERVING, "region": REGION, "on_remove": "keep"}
    new_sandbox(monkeypatch, kept, topic_arn=world["topic"])
    world["counter"].take()
    invoke(sweep_event())
    assert "DeleteEndpoint" not in world["counter"].take()
    assert (
        serving_sm(SERVING).describe_endpoint(EndpointName="fraud-detector-prod")["EndpointStatus"]
        == "InService"
    )
