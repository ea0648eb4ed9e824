"""The service against the in-memory fakes: routing, recording, notifying, error policy."""

from __future__ import annotations

import dataclasses

import pytest
from deployer.errors import PermanentError, TransientError
from deployer.events import Message, parse_event
from deployer.models import DELETED, FAILED, IN_PROGRESS, LIVE, ROLLED_BACK
from deployer.service import DeployerService
from deployer.settings import InvalidDeployment, RetiredEndpoint

from tests.unit.deployer.deployer_fakes import (
    SWEEP,
    FakeEndpoint,
    FakeLedger,
    FakeNotifier,
    FakeSageMaker,
    load_event,
    make_deployment,
    make_settings,
    package_event,
)


def statuses(ledger: FakeLedger, deployment) -> list[tuple[str, int | None]]:
    return [(i.status, i.version) for i in ledger.all(deployment.endpoint_id)]


def settle(sm: FakeSageMaker, service: DeployerService, name: str) -> None:
    while sm.tick(name):
        for trigger in list(sm.events):
            service.handle_trigger(trigger)
        sm.events.clear()


def test_first_approval_creates_then_goes_live_and_notifies(sagemaker, service, ledger, notifier, deployment):
    v1 = sagemaker.register(approval="Approved")
    service.handle_trigger(package_event(v1))
    assert [op for op, _ in sagemaker.calls][-3:] == [
        "create_model",
        "create_endpoint_config",
        "create_endpoint",
    ]
    settle(sagemaker, service, deployment.endpoint)
    assert statuses(ledger, deployment) == [(IN_PROGRESS, 1), (LIVE, 1)]
    assert [t.status for t in notifier.transitions] == [IN_PROGRESS, LIVE]
    live = ledger.all(deployment.endpoint_id)[-1]
    assert live.approved_by and live.serving_version == 1


def test_update_rollback_is_recorded_and_not_retried(sagemaker, service, ledger, notifier, deployment):
    v1 = sagemaker.register(approval="Approved")
    service.handle_trigger(package_event(v1))
    settle(sagemaker, service, deployment.endpoint)
    v2 = sagemaker.register(approval="Approved")
    sagemaker.fail_next_update.add(deployment.endpoint)
    service.handle_trigger(package_event(v2))
    settle(sagemaker, service, deployment.endpoint)
    assert statuses(ledger, deployment)[-2:] == [(IN_PROGRESS, 2), (ROLLED_BACK, 2)]
    rolled = notifier.transitions[-1]
    assert rolled.status == ROLLED_BACK and "rolled back" in rolled.reason and "5xx" in rolled.reason
    writes = len(sagemaker.write_calls())
    for trigger in (SWEEP, package_event(v2), SWEEP):
        service.handle_trigger(trigger)
    assert len(sagemaker.write_calls()) == writes
    assert sagemaker.serving_version(deployment.endpoint) == 1


def test_rejecting_the_live_version_rolls_back_to_the_previous(sagemaker, service, ledger, deployment):
    v1 = sagemaker.register(approval="Approved")
    service.handle_trigger(package_event(v1))
    settle(sagemaker, service, deployment.endpoint)
    v2 = sagemaker.register(approval="Approved")
    service.handle_trigger(package_event(v2))
    settle(sagemaker, service, deployment.endpoint)
    v2.approval = "Rejected"
    service.handle_trigger(package_event(v2))
    settle(sagemaker, service, deployment.endpoint)
    assert sagemaker.serving_version(deployment.endpoint) == 1
    assert statuses(ledger, deployment)[-2:] == [(IN_PROGRESS, 1), (LIVE, 1)]


def test_cleanup_only_after_in_service_on_newer_config(sagemaker, service, deployment):
    for _ in range(3):
        package = sagemaker.register(approval="Approved")
        service.handle_trigger(package_event(package))
        assert not any(op == "cleanup" for op, _ in sagemaker.calls[-4:])  # not while updating
        settle(sagemaker, service, deployment.endpoint)
    cleanups = [args["keep"] for op, args in sagemaker.calls if op == "cleanup"]
    assert len(cleanups) == 3 and sagemaker.violations == []
    assert len(sagemaker.configs) == 1  # older deployer-made configs are gone, the live one stays


def test_package_without_inference_spec_fails_once(sagemaker, service, ledger, notifier, deployment):
    v1 = sagemaker.register(approval="Approved", has_spec=False)
    service.handle_trigger(
        dataclasses.replace(package_event(v1), has_inference_spec=None)
    )  # CreateModel refuses
    assert statuses(ledger, deployment) == [(FAILED, 1)]
    assert "InferenceSpecification" in notifier.transitions[-1].reason
    for _ in range(3):  # and the event that says so is a reason of its own, recorded once
        service.handle_trigger(SWEEP)
    service.handle_trigger(package_event(v1))
    service.handle_trigger(package_event(v1))
    assert statuses(ledger, deployment) == [(FAILED, 1)]
    assert sagemaker.write_calls() == ["create_model"]


def test_unknown_group_and_malformed_events_are_notified_and_acknowledged(service, ledger, notifier):
    event = load_event("model_package_approved")
    event["detail"]["ModelPackageGroupName"] = "someone-elses"
    messages = [Message("m1", parse_event(event)), Message("m2", None, None)]
    assert service.handle(messages) == []
    assert [title for title, _ in notifier.problems] == [
        "event for an unmanaged resource",
        "malformed deployer event",
    ]
    assert "unknown model package group 'someone-elses'" in notifier.problems[0][1]
    assert ledger.items == {}


def test_unknown_endpoint_event(service, notifier):
    event = load_event("endpoint_in_service")
    event["detail"]["EndpointName"] = "not-managed"
    service.handle_trigger(parse_event(event))
    assert "unknown endpoint '333333333333/eu-west-1/not-managed'" in notifier.problems[0][1]


def test_misconfigured_deployment_is_recorded_once_and_notified():
    invalid = InvalidDeployment(
        index=1,
        reason="DEPLOYMENTS[1].rollout.strategy: 'blue': allowed values are canary, linear, all_at_once",
        endpoint="fraud-detector-stage",
        group="fraud-detector",
        account="333333333333",
        region="eu-west-1",
    )
    sm, notifier = FakeSageMaker(), FakeNotifier()
    ledger = FakeLedger(sm)
    service = DeployerService(make_settings(make_deployment(), invalid=(invalid,)), sm, ledger, notifier)  # type: ignore[arg-type]
    for _ in range(3):
        service.handle_trigger(SWEEP)
    items = ledger.all(invalid.endpoint_id)  # type: ignore[arg-type]
    assert [(i.status, i.reason) for i in items] == [(FAILED, f"deployment misconfigured: {invalid.reason}")]
    assert notifier.transitions[-1].endpoint == "fraud-detector-stage"


def test_transient_errors_are_reported_for_retry(service, sagemaker, ledger):
    def throttled(_deployment):
        raise TransientError("list_model_packages: ThrottlingException: Rate exceeded (retries exhausted)")

    sagemaker.iter_packages = throttled
    assert service.handle([Message("m1", SWEEP), Message("m2", SWEEP)]) == ["m1", "m2"]
    assert ledger.items == {}


def test_permanent_read_errors_are_recorded_once(service, sagemaker, ledger, notifier, deployment):
    def denied(_deployment):
        raise PermanentError("describe_endpoint: AccessDenied: not authorized to assume mlops-deploy-access")

    sagemaker.describe_endpoint = denied
    for _ in range(3):
        assert service.handle([Message("m", SWEEP)]) == []
    assert statuses(ledger, deployment) == [(FAILED, None)]
    assert "AccessDenied" in ledger.all(deployment.endpoint_id)[0].reason


def test_unexpected_bug_goes_back_to_sqs(service, sagemaker):
    sagemaker.describe_endpoint = lambda _d: 1 / 0
    assert service.handle([Message("m", SWEEP)]) == ["m"]


def test_ledger_refusal_goes_back_to_sqs(service, ledger):
    class Refused(Exception):
        response = {"Error": {"Code": "ResourceNotFoundException", "Message": "table missing"}}

    def broken(*_args):
        raise Refused()

    ledger.recent = broken
    assert service.handle([Message("m", SWEEP)]) == ["m"]


def test_out_of_time_messages_are_left_for_redelivery(service):
    left = iter([60_000, 1_000])
    assert service.handle([Message("a", SWEEP), Message("b", SWEEP)], remaining_ms=lambda: next(left)) == [
        "b"
    ]


def test_sweep_reconciles_every_deployment():
    sm, ledger, notifier = FakeSageMaker(), None, FakeNotifier()
    a, b = (
        make_deployment(endpoint="a-endpoint"),
        make_deployment(endpoint="b-endpoint", follows="Production"),
    )
    ledger = FakeLedger(sm)
    service = DeployerService(make_settings(a, b), sm, ledger, notifier)  # type: ignore[arg-type]
    v1 = sm.register(approval="Approved")
    v1.stage = "Production"
    service.handle_trigger(SWEEP)
    assert {args["endpoint"] for op, args in sm.calls if op == "create_endpoint"} == {
        "a-endpoint",
        "b-endpoint",
    }


@pytest.mark.parametrize("follows", ["Approved", "Production"])
def test_stage_follow_moves_only_on_stage(follows):
    sm, notifier = FakeSageMaker(), FakeNotifier()
    d = make_deployment(follows=follows)
    service = DeployerService(make_settings(d), sm, FakeLedger(sm), notifier)  # type: ignore[arg-type]
    v1 = sm.register(approval="Approved")
    service.handle_trigger(package_event(v1))
    created = any(op == "create_endpoint" for op, _ in sm.calls)
    assert created is (follows == "Approved")
    v1.stage = "Production"
    service.handle_trigger(package_event(v1))
    assert any(op == "create_endpoint" for op, _ in sm.calls)


def test_a_foreign_registrys_package_event_is_ignored_without_ledger_or_notice(
    sagemaker, service, ledger, notifier, deployment
):
    """Issue 9, finding 8: a same-named group in another account must not trigger anything."""
    v1 = sagemaker.register(approval="Approved")
    foreign = dataclasses.replace(
        package_event(v1), package_arn=v1.arn.replace(":111111111111:", ":999999999999:")
    )
    assert service.handle_trigger(foreign) == []
    assert sagemaker.write_calls() == [] and ledger.all(deployment.endpoint_id) == []
    assert notifier.transitions == [] and notifier.problems == []
    service.handle_trigger(package_event(v1))  # the registry's own event still deploys
    assert "create_endpoint" in sagemaker.write_calls()


@pytest.mark.parametrize("how", ["rejected", "left the stage"])
def test_a_stage_follower_rolls_back_to_the_previous_staged_version_when_the_live_one_is_rejected(how):
    """README: an endpoint that follows a stage needs the stage and an approved version, so rejecting
    the serving version (or moving it out of the stage) rolls the endpoint back to the previous one."""
    sm, notifier = FakeSageMaker(), FakeNotifier()
    d = make_deployment(follows="Production")
    ledger = FakeLedger(sm)
    service = DeployerService(make_settings(d), sm, ledger, notifier)  # type: ignore[arg-type]

    def settle() -> None:
        while any(sm.tick(name) for name in list(sm.endpoints)):
            for event in sm.events[:]:
                sm.events.remove(event)
                service.handle_trigger(event)

    v1, v2 = sm.register(approval="Approved"), sm.register(approval="Approved")
    for version in (v1, v2):
        version.stage = "Production"
        service.handle_trigger(package_event(version))
        settle()
    assert sm.serving_version(d.endpoint) == 2
    if how == "rejected":
        v2.approval = "Rejected"
    else:
        v2.stage = "Archived"
    service.handle_trigger(package_event(v2))
    settle()
    assert sm.serving_version(d.endpoint) == 1
    entries = ledger.all(d.endpoint_id)
    assert [(e.status, e.version, e.serving_version) for e in entries[-2:]] == [
        (IN_PROGRESS, 1, 2),
        (LIVE, 1, 1),
    ]
    assert sm.violations == []


# --- retired endpoints (config `retired`) ------------------------------------------------------------


def _retired(on_remove: str, endpoint: str = "old-endpoint") -> RetiredEndpoint:
    return RetiredEndpoint(
        endpoint=endpoint,
        account="333333333333",
        region="eu-west-1",
        on_remove=on_remove,
        deploy_role_arn="arn:aws:iam::333333333333:role/mlops-deploy-access",
    )


def test_a_retired_endpoint_with_on_remove_delete_is_deleted_at_the_sweep_once_with_a_ledger_entry():
    sm, notifier = FakeSageMaker(), FakeNotifier()
    ledger = FakeLedger(sm)
    gone, kept = _retired("delete"), _retired("keep", "kept-endpoint")
    settings = dataclasses.replace(make_settings(), retired=(gone, kept))
    service = DeployerService(settings, sm, ledger, notifier)  # type: ignore[arg-type]
    sm.endpoints["old-endpoint"] = FakeEndpoint("old-endpoint", "InService", "hand-made")
    sm.endpoints["kept-endpoint"] = FakeEndpoint("kept-endpoint", "InService", "hand-made")
    sweep = parse_event(load_event("scheduled_sweep"))
    for _ in range(3):
        service.handle_trigger(sweep)
    assert [c for c in sm.calls if c[0] == "delete_endpoint"] == [
        ("delete_endpoint", {"endpoint": "old-endpoint"})
    ]
    (entry,) = ledger.all(gone.endpoint_id)
    assert entry.status == DELETED and "on_remove: delete" in (entry.reason or "")
    assert any(n.status == DELETED for n in notifier.transitions)
    assert "kept-endpoint" in sm.endpoints and ledger.all(kept.endpoint_id) == []


def test_a_refused_deletion_is_recorded_once():
    sm, notifier = FakeSageMaker(), FakeNotifier()
    ledger = FakeLedger(sm)
    settings = dataclasses.replace(make_settings(), retired=(_retired("delete"),))
    service = DeployerService(settings, sm, ledger, notifier)  # type: ignore[arg-type]

    def refuse(retired):
        raise PermanentError("delete_endpoint: AccessDenied: not authorized")

    sm.delete_retired = refuse  # type: ignore[method-assign]
    sweep = parse_event(load_event("scheduled_sweep"))
    service.handle_trigger(sweep)
    service.handle_trigger(sweep)
    (entry,) = ledger.all(_retired("delete").endpoint_id)
    assert entry.status == FAILED and "not deleted" in (entry.reason or "")


def test_an_upgrade_that_changes_the_execution_role_moves_the_live_version_at_the_next_sweep(
    sagemaker, ledger, notifier
):
    """Issue 9 replaced the shared execution role by one per team; the upgrade deletes the shared role
    while the live models still name it. The next sweep rolls the version that serves onto the team's
    role, blue/green with the rollout and alarms of any config change, and then leaves it alone."""
    before = make_deployment()  # runs as mlops-sagemaker-execution
    old = DeployerService(make_settings(before), sagemaker, ledger, notifier)  # type: ignore[arg-type]
    v1 = sagemaker.register(approval="Approved")
    old.handle_trigger(package_event(v1))
    settle(sagemaker, old, before.endpoint)
    live_model = sagemaker.configs[sagemaker.endpoints[before.endpoint].config][0]
    assert sagemaker.model_roles[live_model] == before.execution_role_arn

    after = dataclasses.replace(
        before, execution_role_arn="arn:aws:iam::333333333333:role/mlops-fraud-serving"
    )
    upgraded = DeployerService(make_settings(after), sagemaker, ledger, notifier)  # type: ignore[arg-type]
    upgraded.handle_trigger(SWEEP)
    (update,) = [args for op, args in sagemaker.calls if op == "update_endpoint"]
    assert update["dc"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "CANARY"
    settle(sagemaker, upgraded, after.endpoint)
    new_model = sagemaker.configs[sagemaker.endpoints[after.endpoint].config][0]
    assert sagemaker.model_roles[new_model] == after.execution_role_arn
    assert sagemaker.serving_version(after.endpoint) == 1
    items = ledger.all(after.endpoint_id)
    assert [(i.status, i.version) for i in items] == [
        (IN_PROGRESS, 1),
        (LIVE, 1),
        (IN_PROGRESS, 1),
        (LIVE, 1),
    ]
    assert (items[2].reason or "").startswith(
        "config change: execution role mlops-sagemaker-execution -> mlops-fraud-serving;"
    )
    assert (items[3].reason or "").startswith("config change is live: version 1")
    writes = len(sagemaker.write_calls())
    upgraded.handle_trigger(SWEEP)  # settled: the next sweep writes nothing
    assert len(sagemaker.write_calls()) == writes and sagemaker.violations == []
