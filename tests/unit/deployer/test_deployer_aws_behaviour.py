"""The deployer as AWS really behaves (issue 10): baking for every strategy, fleet-size limits at
decision time, error classification (AssumeRole, quotas, unknown 5xx), approval audit fields read
with DescribeModelPackage, blue/green progress events. Each test failed before its fix."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from deployer import controller
from deployer.errors import EndpointBusy, PermanentError, QuotaExceeded, TransientError
from deployer.events import ENDPOINT_DEPLOYMENT_CHANGE, EndpointChange, ModelPackageChange, parse_event
from deployer.models import FAILED, IN_PROGRESS, SKIPPED, DeployPlan, ScalingTarget
from deployer.sagemaker_gateway import SageMakerGateway, translate
from deployer.service import DeployerService
from deployer.settings import Deployment, Rollout, parse_rollout

from stacks.config import Rollout as ConfigRollout
from tests.unit.deployer.deployer_fakes import (
    REGION,
    SERVING,
    SWEEP,
    FakeEndpoint,
    FakeLedger,
    FakeNotifier,
    FakeSageMaker,
    load_event,
    make_deployment,
    make_settings,
    package_arn,
    package_event,
)


def client_error(code: str, message: str, status: int, operation: str = "UpdateEndpoint") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


def serving_endpoint(sm: FakeSageMaker, deployment: Deployment, version: int, **fields: Any) -> None:
    """An InService endpoint that serves ``version`` through a deployer-made config."""
    plan = controller.decide(
        deployment,
        controller.Package(package_arn(version), version, "Approved"),
        controller.EndpointView(exists=False),
        [],
    ).deploy
    assert plan is not None
    sm.models[plan.model_name] = plan.package.arn
    sm.configs[plan.config_name] = (plan.model_name, -version)
    sm.sizing[plan.config_name] = (plan.instance_type, plan.instance_count)
    sm.endpoints[deployment.endpoint] = FakeEndpoint(
        deployment.endpoint, "InService", plan.config_name, **fields
    )


def approve(sm: FakeSageMaker, count: int) -> None:
    for _ in range(count):
        sm.register(approval="Approved")


# --- 1. every strategy bakes ----------------------------------------------------------------------


def test_all_at_once_bake_seconds_reach_termination_wait_through_the_synthesized_setting() -> None:
    """config -> deployments.json (Rollout.as_dict) -> the Lambda's settings -> UpdateEndpoint."""
    shipped = ConfigRollout(strategy="all_at_once", bake_seconds=600).as_dict()
    rollout = parse_rollout(shipped)
    policy = controller.deployment_config(rollout, ["a"])["BlueGreenUpdatePolicy"]
    assert policy["TerminationWaitInSeconds"] == 600
    assert policy["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
    assert policy["MaximumExecutionTimeoutInSeconds"] >= 600 + 600  # room for the bake


# --- 7. canary / linear sizes against the real fleet at decision time ------------------------------


@pytest.mark.parametrize(
    ("rollout", "instances", "expected"),
    [
        (Rollout("canary", step_percent=25, wait_seconds=300, bake_seconds=600), 2, "CANARY"),
        (Rollout("canary", step_percent=25, wait_seconds=300, bake_seconds=600), 1, "ALL_AT_ONCE"),
        (Rollout("canary", step_percent=50, wait_seconds=300, bake_seconds=600), 3, "ALL_AT_ONCE"),
        (Rollout("canary", step_percent=50, wait_seconds=300, bake_seconds=600), 4, "CANARY"),
        (Rollout("linear", step_percent=20, wait_seconds=60, bake_seconds=120), 1, "ALL_AT_ONCE"),
        (Rollout("linear", step_percent=20, wait_seconds=60, bake_seconds=120), 2, "LINEAR"),
        (Rollout("linear", step_percent=50, wait_seconds=60, bake_seconds=120), 3, "ALL_AT_ONCE"),
    ],
)
def test_rollout_is_fitted_to_the_current_instance_count(
    rollout: Rollout, instances: int, expected: str
) -> None:
    fitted, note = controller.fit_rollout(rollout, instances)
    routing = controller.deployment_config(fitted, ["a"])["BlueGreenUpdatePolicy"]
    assert routing["TrafficRoutingConfiguration"]["Type"] == expected
    assert routing["TerminationWaitInSeconds"] == rollout.bake_seconds  # the bake is never lost
    assert (note is None) == (expected != "ALL_AT_ONCE")


def test_an_autoscaled_down_fleet_too_small_for_the_canary_is_updated_all_at_once_with_a_ledger_reason(
    sagemaker: FakeSageMaker, ledger: FakeLedger, notifier: FakeNotifier, deployment: Deployment
) -> None:
    service = DeployerService(make_settings(deployment), sagemaker, ledger, notifier)  # type: ignore[arg-type]
    approve(sagemaker, 2)
    # configured 2, autoscaled to 1 (a scalable target with minimum 1)
    serving_endpoint(sagemaker, deployment, 1, instance_count=1, scaling=ScalingTarget(1, 4))
    service.handle_trigger(SWEEP)
    (update,) = [c for c in sagemaker.calls if c[0] == "update_endpoint"]
    policy = update[1]["dc"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"]["Type"] == "ALL_AT_ONCE"
    assert policy["TerminationWaitInSeconds"] == 600
    (started,) = [i for i in ledger.all(deployment.endpoint_id) if i.status == IN_PROGRESS]
    assert "25% of 1 instance(s)" in (started.reason or "") and "all_at_once" in (started.reason or "")
    assert started.rollout == {"strategy": "all_at_once", "bake_seconds": 600}


def test_a_fleet_large_enough_keeps_the_canary(
    sagemaker: FakeSageMaker, ledger: FakeLedger, notifier: FakeNotifier, deployment: Deployment
) -> None:
    service = DeployerService(make_settings(deployment), sagemaker, ledger, notifier)  # type: ignore[arg-type]
    approve(sagemaker, 2)
    serving_endpoint(sagemaker, deployment, 1, instance_count=4, scaling=ScalingTarget(2, 6))
    service.handle_trigger(SWEEP)
    (update,) = [c for c in sagemaker.calls if c[0] == "update_endpoint"]
    routing = update[1]["dc"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "CANARY" and routing["CanarySize"]["Value"] == 25
    (started,) = [i for i in ledger.all(deployment.endpoint_id) if i.status == IN_PROGRESS]
    assert started.reason == "update to version 2 (canary) started"


# --- 5, 8 and the translate mutant: error classification --------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("SomethingNobodyListed", 500, TransientError),
        ("", 503, TransientError),
        ("ResourceLimitExceeded", 400, QuotaExceeded),
        ("AccessDenied", 403, PermanentError),
        ("ValidationException", 400, PermanentError),
    ],
)
def test_translate_classifies_aws_errors(code: str, status: int, kind: type[Exception]) -> None:
    translated = translate(client_error(code, "boom", status), "update_endpoint")
    assert type(translated) is kind


def test_a_refused_assume_role_becomes_a_failed_ledger_entry_and_a_notification(
    ledger: FakeLedger, notifier: FakeNotifier, deployment: Deployment
) -> None:
    """STS refuses (role missing, trust wrong, not yet propagated): classified, recorded, acknowledged."""

    def client_for(region: str, role_arn: str | None) -> Any:
        if role_arn is not None:
            raise client_error(
                "AccessDenied",
                f"User: arn:aws:sts::111111111111:assumed-role/mlops-deployer/x is not authorized to "
                f"perform: sts:AssumeRole on resource: {role_arn}",
                403,
                "AssumeRole",
            )
        raise AssertionError("the endpoint is read first, with the deploy-access role")

    service = DeployerService(make_settings(deployment), SageMakerGateway(client_for), ledger, notifier)
    service.handle_trigger(SWEEP)  # does not raise: nothing loops into the DLQ
    (entry,) = ledger.all(deployment.endpoint_id)
    assert entry.status == FAILED
    assert "sts:AssumeRole" in (entry.reason or "") and str(deployment.deploy_role_arn) in (
        entry.reason or ""
    )
    assert notifier.transitions == [entry]
    service.handle_trigger(SWEEP)  # the same failure is recorded once
    assert len(ledger.all(deployment.endpoint_id)) == 1


class QuotaSageMaker(FakeSageMaker):
    quota_exceeded: bool = True

    def deploy(self, deployment: Deployment, plan: DeployPlan) -> None:
        if self.quota_exceeded and plan.kind == "update":
            self.calls.append(("update_endpoint_refused", {}))
            raise translate(
                client_error("ResourceLimitExceeded", "The account-level service limit is exceeded", 400),
                "update_endpoint",
            )
        super().deploy(deployment, plan)


def test_a_quota_error_defers_the_deployment_notifies_once_and_never_blocks_the_version(
    ledger: FakeLedger, notifier: FakeNotifier, deployment: Deployment
) -> None:
    sm = QuotaSageMaker()
    service = DeployerService(make_settings(deployment), sm, ledger, notifier)  # type: ignore[arg-type]
    approve(sm, 2)
    serving_endpoint(sm, deployment, 1)
    service.handle_trigger(SWEEP)
    service.handle_trigger(SWEEP)  # still over quota: no second item, no second notification
    items = ledger.all(deployment.endpoint_id)
    assert [(i.status, i.version) for i in items] == [(SKIPPED, 2)]
    assert "ResourceLimitExceeded" in (items[0].reason or "") and "deferred" in (items[0].reason or "")
    assert len(notifier.transitions) == 1
    sm.quota_exceeded = False  # capacity freed: the next look deploys the same version
    service.handle_trigger(SWEEP)
    assert [(i.status, i.version) for i in ledger.all(deployment.endpoint_id)][-1] == (IN_PROGRESS, 2)


class BusyOnUpdate(FakeSageMaker):
    """DescribeEndpoint says InService, then UpdateEndpoint answers busy (someone else got there)."""

    def deploy(self, deployment: Deployment, plan: DeployPlan) -> None:
        self.calls.append(("update_endpoint_busy", {}))
        raise EndpointBusy("update_endpoint: Cannot update in-progress endpoint")


def test_busy_on_update_after_in_service_writes_nothing_and_blocks_nothing(
    ledger: FakeLedger, notifier: FakeNotifier, deployment: Deployment
) -> None:
    sm = BusyOnUpdate()
    service = DeployerService(make_settings(deployment), sm, ledger, notifier)  # type: ignore[arg-type]
    approve(sm, 2)
    serving_endpoint(sm, deployment, 1)
    service.handle_trigger(SWEEP)
    assert ledger.all(deployment.endpoint_id) == [] and notifier.transitions == []
    service.handle_trigger(SWEEP)  # and the next look tries again
    assert [c[0] for c in sm.calls].count("update_endpoint_busy") == 2


# --- 9. approval audit fields ----------------------------------------------------------------------------


def test_audit_fields_missing_from_the_event_are_read_with_describe_model_package(
    service: DeployerService, sagemaker: FakeSageMaker, ledger: FakeLedger, deployment: Deployment
) -> None:
    approve(sagemaker, 1)
    bare = package_event(sagemaker.package(1))
    bare = ModelPackageChange(**{**bare.__dict__, "approved_by": None, "approval_description": None})
    service.handle_trigger(bare)
    (started,) = ledger.all(deployment.endpoint_id)
    assert started.approved_by == "arn:aws:sts::111111111111:assumed-role/mlops-fraud-approver/bob"
    assert started.approval_description == "from DescribeModelPackage"
    assert sagemaker.described_packages == [sagemaker.package(1).arn]


def test_a_duplicate_event_that_writes_nothing_costs_no_describe_call(
    service: DeployerService, sagemaker: FakeSageMaker, deployment: Deployment
) -> None:
    approve(sagemaker, 1)
    serving_endpoint(sagemaker, deployment, 1)
    event = package_event(sagemaker.package(1))
    service.handle_trigger(
        ModelPackageChange(**{**event.__dict__, "approved_by": None, "approval_description": None})
    )
    calls = [c[0] for c in sagemaker.calls]
    service.handle_trigger(
        ModelPackageChange(**{**event.__dict__, "approved_by": None, "approval_description": None})
    )
    assert [c[0] for c in sagemaker.calls][len(calls) :] == ["describe_endpoint", "list_model_packages"]


def test_event_audit_fields_win_over_describe(
    service: DeployerService, sagemaker: FakeSageMaker, ledger: FakeLedger, deployment: Deployment
) -> None:
    approve(sagemaker, 1)
    service.handle_trigger(package_event(sagemaker.package(1)))
    (started,) = ledger.all(deployment.endpoint_id)
    assert started.approved_by == "arn:aws:sts::111111111111:assumed-role/mlops-fraud-approver/alice"
    assert sagemaker.described_packages == []


# --- 4. blue/green progress events ------------------------------------------------------------------------


def test_endpoint_deployment_state_change_is_a_look_again_trigger_for_that_endpoint() -> None:
    arn = f"arn:aws:sagemaker:{REGION}:{SERVING}:endpoint/fraud-detector-prod"
    trigger = parse_event(
        {
            "version": "0",
            "id": "dep-1",
            "detail-type": ENDPOINT_DEPLOYMENT_CHANGE,
            "source": "aws.sagemaker",
            "account": SERVING,
            "time": "2026-11-20T10:00:00Z",
            "region": REGION,
            "resources": [arn],
            "detail": {"EndpointName": "fraud-detector-prod", "EndpointArn": arn},
        }
    )
    assert isinstance(trigger, EndpointChange)
    assert (trigger.endpoint, trigger.account, trigger.region) == ("fraud-detector-prod", SERVING, REGION)
    only_resources = parse_event(
        {
            "id": "dep-2",
            "detail-type": ENDPOINT_DEPLOYMENT_CHANGE,
            "source": "aws.sagemaker",
            "account": SERVING,
            "region": REGION,
            "resources": [arn],
            "detail": {},
        }
    )
    assert isinstance(only_resources, EndpointChange) and only_resources.endpoint == "fraud-detector-prod"


def test_the_documented_deployment_state_change_event_is_a_look_again_trigger() -> None:
    """The event as AWS documents it (field set of "SageMaker endpoint deployment state change",
    https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-deployment-state):
    EndpointStatus in upper case, epoch-millisecond times, the new config in PendingDeploymentSummary."""
    event = load_event("endpoint_deployment_state_change")
    assert event["detail-type"] == ENDPOINT_DEPLOYMENT_CHANGE
    assert set(event["detail"]) == {
        "EndpointName",
        "EndpointArn",
        "EndpointConfigName",
        "ProductionVariants",
        "EndpointStatus",
        "CreationTime",
        "LastModifiedTime",
        "Tags",
        "PendingDeploymentSummary",
    }
    trigger = parse_event(event)
    assert isinstance(trigger, EndpointChange)
    assert (trigger.endpoint, trigger.account, trigger.region, trigger.status) == (
        "fraud-detector-prod",
        SERVING,
        REGION,
        "UPDATING",
    )
    # forwarded to the registry's bus: the envelope's account may be rewritten, the ARN still names it
    forwarded = {**event, "account": "111111111111"}
    assert parse_event(forwarded) == trigger


def test_settings_refuse_a_13_digit_account() -> None:
    from deployer.settings import parse_deployment

    good = make_deployment()
    raw = {
        **{k: getattr(good, k) for k in ("endpoint", "group", "group_arn", "region", "follows")},
        "account": "3333333333333",
        "instance_type": good.instance_type,
        "instance_count": good.instance_count,
        "alarms": list(good.alarms),
        "rollout": good.rollout.as_dict(),
        "execution_role_arn": good.execution_role_arn,
        "deploy_role_arn": good.deploy_role_arn,
    }
    with pytest.raises(ValueError, match="account: '3333333333333'"):
        parse_deployment(raw)


# --- 6. the sweep fans out ------------------------------------------------------------------------------


def test_a_sweep_sends_one_message_per_endpoint_and_reconciles_nothing_itself(
    sagemaker: FakeSageMaker, ledger: FakeLedger, notifier: FakeNotifier
) -> None:
    deployments = [make_deployment(endpoint=f"ep-{i}") for i in range(23)]
    sent: list[dict[str, Any]] = []
    service = DeployerService(
        make_settings(*deployments),
        sagemaker,
        ledger,
        notifier,
        fan_out=sent.extend,  # type: ignore[arg-type]
    )
    approve(sagemaker, 1)
    assert service.handle_trigger(SWEEP) == []
    assert sagemaker.calls == [] and ledger.queries == 0
    triggers = [parse_event(json.loads(json.dumps(body))) for body in sent]
    assert [(t.endpoint, t.account, t.region) for t in triggers if isinstance(t, EndpointChange)] == [
        (d.endpoint, d.account, d.region) for d in deployments
    ]
    decisions = service.handle_trigger(triggers[4])  # each message reconciles its endpoint only
    assert [c[1] for c in sagemaker.calls if c[0] == "describe_endpoint"] == [{"endpoint": "ep-4"}]
    assert decisions[0].deploy is not None


def test_queue_fan_out_sends_batches_of_ten() -> None:
    from deployer.wiring import QueueFanOut

    class Sqs:
        def __init__(self) -> None:
            self.batches: list[list[dict[str, Any]]] = []

        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            assert QueueUrl == "https://sqs/q"
            self.batches.append(Entries)
            return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    sqs = Sqs()
    QueueFanOut(sqs, "https://sqs/q")([{"n": i} for i in range(25)])
    assert [len(b) for b in sqs.batches] == [10, 10, 5]
    assert json.loads(sqs.batches[2][4]["MessageBody"]) == {"n": 24}
