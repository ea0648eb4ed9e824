"""Exhaustive tests of the pure reconcile decision (no AWS, no fakes)."""

from __future__ import annotations

import dataclasses

import pytest
from deployer import controller, names, rollback_alarms
from deployer.events import ModelPackageChange
from deployer.models import (
    FAILED,
    IN_PROGRESS,
    LIVE,
    REQUESTED,
    ROLLED_BACK,
    SKIPPED,
    SUPERSEDED,
    EndpointView,
    LedgerEntry,
    Package,
    ScalingTarget,
)
from deployer.settings import Rollout

from tests.unit.deployer.deployer_fakes import GROUP, SERVING, make_deployment, package_arn

D = make_deployment()


def pkg(
    version: int,
    approval: str = "Approved",
    stage: str | None = None,
    status: str = "Completed",
    stage_status: str | None = "Approved",
) -> Package:
    return Package(
        package_arn(version), version, approval, stage, status, stage_status=stage_status if stage else None
    )


def config_for(version: int, deployment=D, count: int = 2, variant: str = "AllTraffic") -> str:
    model = names.model_name(
        deployment.endpoint, version, package_arn(version), deployment.execution_role_arn
    )
    return names.config_name(
        deployment.endpoint,
        version,
        package_arn(version),
        model=model,
        variant=variant,
        instance_type=deployment.instance_type,
        instance_count=count,
    )


def serving(version: int | None, status: str = "InService", count: int = 2, **kw) -> EndpointView:
    config = (
        config_for(version, count=count) if version is not None else kw.pop("config_name", "hand-made-config")
    )
    return EndpointView(
        exists=True,
        status=status,
        config_name=config,
        variant_name=kw.pop("variant_name", "Blue"),
        variant_count=kw.pop("variant_count", 1),
        instance_count=count,
        **kw,
    )


MISSING = EndpointView(exists=False)


def item(
    status: str, version: int | None, *, serving_version: int | None = None, config: str | None = None, **kw
) -> LedgerEntry:
    return LedgerEntry(
        status=status,
        endpoint=D.endpoint,
        account=D.account,
        region=D.region,
        group=GROUP,
        model_package_arn=package_arn(version) if version is not None else None,
        version=version,
        serving_package_arn=package_arn(serving_version) if serving_version is not None else None,
        serving_version=serving_version,
        endpoint_config=config,
        endpoint_id=D.endpoint_id,
        at=kw.pop("at", "2026-11-20T10:00:00.000000Z"),
        **kw,
    )


def approval_event(
    version: int,
    approval: str = "Approved",
    has_spec: bool | None = True,
    stage: str | None = None,
    stage_status: str | None = "Approved",
):
    return ModelPackageChange(
        event_id=f"evt-{version}",
        time=None,
        group=GROUP,
        package_arn=package_arn(version),
        version=version,
        approval_status=approval,
        stage=stage,
        has_inference_spec=has_spec,
        approved_by="alice",
        approval_description="AUC 0.94",
        stage_status=stage_status if stage else None,
    )


# --- desired version --------------------------------------------------------------------------------


class TestMatching:
    def test_approved_follows_approval_status(self):
        assert controller.matches(pkg(1), "Approved")
        assert not controller.matches(pkg(1, "Rejected"), "Approved")
        assert not controller.matches(pkg(1, "PendingManualApproval"), "Approved")

    def test_stage_follows_stage_with_status_approved_of_an_approved_version(self):
        assert controller.matches(pkg(1, "Approved", stage="Production"), "Production")
        assert not controller.matches(pkg(1, "Approved", stage="Staging"), "Production")
        assert not controller.matches(pkg(1, "Approved"), "Production")

    @pytest.mark.parametrize("approval", ["PendingManualApproval", "Rejected", None])
    def test_a_stage_without_approval_never_matches(self, approval):
        """Finding 1/2 of issue 9: a version registered straight into Production is not deployable."""
        assert not controller.matches(pkg(1, approval, stage="Production"), "Production")

    @pytest.mark.parametrize("stage_status", ["PendingApproval", "Rejected", "InProgress", None])
    def test_a_stage_whose_status_is_not_approved_never_matches(self, stage_status):
        package = Package(package_arn(1), 1, "Approved", "Production", "Completed", stage_status=stage_status)
        assert not controller.matches(package, "Production")

    @pytest.mark.parametrize("status", ["Pending", "InProgress", "Failed", "Deleting"])
    def test_unfinished_or_broken_packages_never_match(self, status):
        assert not controller.matches(pkg(1, status=status), "Approved")

    def test_pick_desired_takes_first_match_of_newest_first_list_and_stops_reading(self):
        consumed = []

        def newest_first():
            for p in [pkg(5, "Rejected"), pkg(4), pkg(3)]:
                consumed.append(p.version)
                yield p

        assert controller.pick_desired(newest_first(), "Approved") == pkg(4)
        assert consumed == [5, 4]

    def test_package_from_summary(self):
        summary = {
            "ModelPackageArn": package_arn(3),
            "ModelPackageVersion": 3,
            "ModelApprovalStatus": "Approved",
            "ModelPackageStatus": "Completed",
            "ModelLifeCycle": {"Stage": "Production", "StageStatus": "Approved"},
        }
        assert controller.package_from_summary(summary) == Package(
            package_arn(3), 3, "Approved", "Production", "Completed", stage_status="Approved"
        )


class TestMatchingSince:
    def test_collects_newer_matches_down_to_the_serving_version(self):
        found = controller.matching_since(
            [pkg(9), pkg(8, "Rejected"), pkg(7), pkg(6), pkg(5)], "Approved", floor=6
        )
        assert [p.version for p in found] == [9, 7]

    def test_serving_version_is_desired_when_nothing_newer(self):
        assert controller.matching_since([pkg(6), pkg(5)], "Approved", floor=6) == [pkg(6)]

    def test_rejected_live_version_gives_the_previous_match(self):
        found = controller.matching_since(
            [pkg(7, "Rejected"), pkg(6, "Rejected"), pkg(5), pkg(4)], "Approved", floor=7
        )
        assert found == [pkg(5)]

    def test_unknown_serving_version_reads_only_to_the_first_match(self):
        consumed = []

        def newest_first():
            for p in [pkg(3), pkg(2), pkg(1)]:
                consumed.append(p.version)
                yield p

        assert controller.matching_since(newest_first(), "Approved", floor=None) == [pkg(3)]
        assert consumed == [3]

    def test_nothing_matches(self):
        assert controller.matching_since([pkg(2, "Rejected")], "Approved", floor=None) == []


# --- rollout ------------------------------------------------------------------------------------------


class TestDeploymentConfig:
    def test_canary(self):
        config = controller.deployment_config(Rollout("canary", 25, 300, 600), ["a-5xx", "a-latency"])
        policy = config["BlueGreenUpdatePolicy"]
        assert policy["TrafficRoutingConfiguration"] == {
            "Type": "CANARY",
            "WaitIntervalInSeconds": 300,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        }
        assert policy["TerminationWaitInSeconds"] == 600
        assert policy["MaximumExecutionTimeoutInSeconds"] == 300 + 600 + 3600
        assert config["AutoRollbackConfiguration"] == {
            "Alarms": [{"AlarmName": "a-5xx"}, {"AlarmName": "a-latency"}]
        }

    def test_linear_counts_every_step_wait(self):
        config = controller.deployment_config(Rollout("linear", 20, 120, 300), ["a"])
        policy = config["BlueGreenUpdatePolicy"]
        assert policy["TrafficRoutingConfiguration"] == {
            "Type": "LINEAR",
            "WaitIntervalInSeconds": 120,
            "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 20},
        }
        assert policy["MaximumExecutionTimeoutInSeconds"] == 4 * 120 + 300 + 3600

    def test_all_at_once(self):
        policy = controller.deployment_config(Rollout("all_at_once"), ["a"])["BlueGreenUpdatePolicy"]
        assert policy["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}
        assert policy["TerminationWaitInSeconds"] == 0
        assert policy["MaximumExecutionTimeoutInSeconds"] == 3600

    def test_timeout_stays_within_sagemaker_limits(self):
        long = Rollout("linear", 10, 3000, 600)
        timeout = controller.deployment_config(long, ["a"])["BlueGreenUpdatePolicy"][
            "MaximumExecutionTimeoutInSeconds"
        ]
        assert timeout == 28800 and timeout > long.total_wait_seconds


# --- names ----------------------------------------------------------------------------------------------


class TestNames:
    def test_roundtrip_and_length(self):
        long_endpoint = "e" * 63
        model = names.model_name(long_endpoint, 123456, package_arn(123456), D.execution_role_arn)
        config = names.config_name(
            long_endpoint,
            123456,
            package_arn(123456),
            model=model,
            variant="AllTraffic",
            instance_type="ml.m5.large",
            instance_count=4,
        )
        assert len(model) <= 63 and len(config) <= 63
        assert names.parse(long_endpoint, config) == names.token_of(123456, package_arn(123456))
        assert names.parse(long_endpoint, model) == names.token_of(123456, package_arn(123456))

    def test_other_endpoints_and_hand_made_names_do_not_parse(self):
        assert names.parse("fraud-detector-prod", config_for(3)) is not None
        assert names.parse("fraud-detector-stage", config_for(3)) is None
        assert names.parse("fraud-detector-prod", "fraud-detector-prod-config") is None
        assert names.parse("fraud-detector-prod", None) is None

    def test_same_plan_same_names_and_sizing_changes_the_config_name(self):
        assert config_for(3, count=2) == config_for(3, count=2)
        assert config_for(3, count=2) != config_for(3, count=4)
        assert names.parse(D.endpoint, config_for(3, count=2)) == names.parse(
            D.endpoint, config_for(3, count=4)
        )


# --- decide --------------------------------------------------------------------------------------------


class TestCreate:
    def test_missing_endpoint_is_created_with_default_variant_and_configured_count(self):
        decision = controller.decide(D, pkg(3), MISSING, [])
        plan = decision.deploy
        assert plan is not None and plan.kind == "create"
        assert plan.variant_name == "AllTraffic" and plan.instance_count == D.instance_count
        assert plan.deployment_config is None
        assert plan.execution_role_arn == D.execution_role_arn
        assert names.parse(D.endpoint, plan.config_name) == names.token_of(3, package_arn(3))
        assert decision.records == ()
        started = decision.started
        assert started is not None and started.status == IN_PROGRESS and started.version == 3
        assert started.serving_version is None and started.endpoint_config == plan.config_name

    def test_network_isolation_is_planned_and_part_of_the_model_name(self):
        isolated = controller.decide(D, pkg(3), MISSING, []).deploy
        open_ = controller.decide(dataclasses.replace(D, network_isolation=False), pkg(3), MISSING, []).deploy
        assert isolated is not None and open_ is not None
        assert isolated.network_isolation is True and open_.network_isolation is False
        # a model made with the other setting is never reused (CreateModel is idempotent by name)
        assert isolated.model_name != open_.model_name
        assert names.parse(D.endpoint, open_.config_name) == names.parse(D.endpoint, isolated.config_name)

    def test_nothing_to_create_when_no_version_matches(self):
        decision = controller.decide(D, None, MISSING, [])
        assert not decision.writes and decision.deploy is None


class TestEqual:
    def test_no_write_when_the_ledger_already_says_so(self):
        decision = controller.decide(D, pkg(3), serving(3), [item(LIVE, 3, serving_version=3)])
        assert not decision.writes

    def test_ledger_brought_up_to_date_once_when_it_lags(self):
        decision = controller.decide(D, pkg(3), serving(3), [item(LIVE, 2, serving_version=2)])
        assert [r.status for r in decision.records] == [LIVE]
        assert decision.records[0].serving_version == 3 and decision.records[0].previous_version == 2
        assert decision.cleanup_keep == serving(3).config_name
        assert decision.deploy is None

    def test_duplicate_event_is_harmless(self):
        recent = [item(LIVE, 3, serving_version=3)]
        for trigger in (approval_event(3), approval_event(3), None):
            assert not controller.decide(D, pkg(3), serving(3), recent, trigger).writes


class TestBusy:
    @pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"])
    def test_no_write_call_while_busy(self, status):
        decision = controller.decide(D, pkg(4), serving(3, status=status), [item(LIVE, 3, serving_version=3)])
        assert decision.deploy is None and decision.records == () and decision.cleanup_keep is None
        assert status in decision.reason

    @pytest.mark.parametrize("status", ["Updating", "RollingBack"])
    def test_pending_deployment_is_not_judged_while_busy(self, status):
        recent = [item(IN_PROGRESS, 4, serving_version=3, config=config_for(4))]
        assert not controller.decide(D, pkg(4), serving(3, status=status), recent).writes


class TestUpdate:
    def test_newer_version_updates_in_place_keeping_variant_and_autoscaled_count(self):
        autoscaled = serving(3, count=5, scaling=ScalingTarget(2, 8))
        decision = controller.decide(D, pkg(4), autoscaled, [item(LIVE, 3, serving_version=3)])
        plan = decision.deploy
        assert plan is not None and plan.kind == "update"
        assert plan.variant_name == "Blue" and plan.instance_count == 5
        # rollback alarms of the new fleet only: named after the new config, on its real variant
        alarms = rollback_alarms.alarm_names(plan.config_name)
        assert plan.deployment_config == controller.deployment_config(D.rollout, alarms)
        assert [r["AlarmName"] for r in plan.alarm_requests] == list(alarms)
        for request in plan.alarm_requests:
            assert request["Dimensions"] == [
                {"Name": "EndpointName", "Value": D.endpoint},
                {"Name": "VariantName", "Value": "Blue"},
                {"Name": "EndpointConfigName", "Value": plan.config_name},
            ]
        started = decision.started
        assert started is not None and started.status == IN_PROGRESS
        assert (started.version, started.previous_version, started.serving_version) == (4, 3, 3)
        assert started.rollout == D.rollout.as_dict()

    def test_rejecting_the_live_version_rolls_back_with_no_special_case(self):
        decision = controller.decide(D, pkg(3), serving(4), [item(LIVE, 4, serving_version=4)])
        assert decision.deploy is not None and decision.deploy.package.version == 3

    def test_endpoint_not_made_by_the_deployer_is_adopted(self):
        decision = controller.decide(D, pkg(1), serving(None, config_name="hand-made"), [])
        assert decision.deploy is not None and decision.deploy.kind == "update"
        assert decision.started is not None and decision.started.previous_version is None

    def test_approver_comes_from_the_trigger(self):
        decision = controller.decide(D, pkg(4), serving(3), [], approval_event(4))
        assert decision.started is not None
        assert (decision.started.approved_by, decision.started.approval_description) == ("alice", "AUC 0.94")
        assert decision.started.event_id == "evt-4"

    def test_skipped_versions_end_as_superseded(self):
        recent = [item(LIVE, 3, serving_version=3)]
        decision = controller.decide(D, pkg(6), serving(3), recent, None, skipped=[pkg(5), pkg(4)])
        assert [(r.status, r.version) for r in decision.records] == [(SUPERSEDED, 5), (SUPERSEDED, 4)]
        assert decision.deploy is not None

    def test_skipped_versions_already_in_the_ledger_are_not_repeated(self):
        recent = [item(SUPERSEDED, 5, serving_version=3), item(LIVE, 3, serving_version=3)]
        decision = controller.decide(D, pkg(6), serving(3), recent, None, skipped=[pkg(5)])
        assert decision.records == ()


def pending_item(version: int = 4, serving_version: int = 3) -> LedgerEntry:
    """The in-progress item of an update to ``version`` that started from ``serving_version``."""
    return item(
        IN_PROGRESS, version, serving_version=serving_version, config=config_for(version), approved_by="alice"
    )


class TestOutcomes:
    def pending(self, version=4, serving_version=3):
        return pending_item(version, serving_version)

    def test_update_finished_records_live_and_allows_cleanup(self):
        decision = controller.decide(D, pkg(4), serving(4), [self.pending()])
        assert [r.status for r in decision.records] == [LIVE]
        live = decision.records[0]
        assert (live.version, live.serving_version, live.previous_version) == (4, 4, 3)
        assert live.approved_by == "alice"
        assert decision.cleanup_keep == serving(4).config_name and decision.deploy is None

    def test_live_carries_its_own_approval_and_the_previous_package_arn(self):
        """Two versions approved by different people: the live item of v4 names v4's approver (from
        its in-progress item), never v3's, and the ARN of the version it replaced."""
        pending = dataclasses.replace(self.pending(), approved_by="bob", approval_description=None)
        older = item(LIVE, 3, serving_version=3, approved_by="alice", approval_description="AUC 0.94")
        decision = controller.decide(D, pkg(4), serving(4), [pending, older])
        (live,) = decision.records
        assert (live.approved_by, live.approval_description) == ("bob", None)
        assert (live.model_package_arn, live.serving_package_arn) == (package_arn(4), package_arn(4))
        assert (live.previous_package_arn, live.previous_version) == (package_arn(3), 3)

    def test_silent_rollback_is_detected_recorded_and_not_retried(self):
        endpoint = serving(3, failure_reason="Alarm 5xx in ALARM")
        decision = controller.decide(D, pkg(4), endpoint, [self.pending()])
        assert [r.status for r in decision.records] == [ROLLED_BACK]
        rolled = decision.records[0]
        assert rolled.version == 4 and rolled.serving_version == 3
        assert "rolled back" in (rolled.reason or "") and "Alarm 5xx" in (rolled.reason or "")
        assert decision.deploy is None and decision.cleanup_keep is None

        # the next looks (state change, sweep, duplicate approval) do not loop
        recent = [dataclasses.replace(rolled, at="2026-11-20T10:30:00.000000Z"), self.pending()]
        for trigger in (None, approval_event(4)):
            assert not controller.decide(D, pkg(4), endpoint, recent, trigger).writes

    def test_after_a_rollback_a_newer_version_deploys(self):
        recent = [item(ROLLED_BACK, 4, serving_version=3), self.pending()]
        decision = controller.decide(D, pkg(5), serving(3), recent)
        assert decision.deploy is not None and decision.deploy.package.version == 5

    def test_rollback_and_newer_version_in_one_look(self):
        decision = controller.decide(D, pkg(5), serving(3), [self.pending()])
        assert [r.status for r in decision.records] == [ROLLED_BACK]
        assert decision.deploy is not None and decision.deploy.package.version == 5

    def test_live_then_newer_version_in_one_look(self):
        decision = controller.decide(D, pkg(5), serving(4), [self.pending()])
        assert [r.status for r in decision.records] == [LIVE]
        assert decision.deploy is not None and decision.deploy.package.version == 5
        assert decision.cleanup_keep == serving(4).config_name

    def test_failed_endpoint_after_request(self):
        endpoint = serving(4, status="Failed", failure_reason="image pull failed")
        decision = controller.decide(D, pkg(4), endpoint, [self.pending()])
        assert decision.records[0].status == FAILED and "image pull failed" in (
            decision.records[0].reason or ""
        )
        assert decision.deploy is None

    def test_endpoint_deleted_during_deployment_is_recreated(self):
        decision = controller.decide(D, pkg(4), MISSING, [self.pending()])
        assert decision.records[0].status == FAILED
        assert decision.deploy is not None and decision.deploy.kind == "create"

    def test_failed_endpoint_deleted_by_the_operator_is_recreated(self):
        endpoint = serving(4, status="Failed", failure_reason="image pull failed")
        failed = controller.decide(D, pkg(4), endpoint, [self.pending()]).records[0]
        decision = controller.decide(D, pkg(4), MISSING, [failed])
        assert decision.deploy is not None and decision.deploy.kind == "create"

    def test_operator_retry_request_unblocks_a_version(self):
        recent = [item(REQUESTED, 4), item(ROLLED_BACK, 4, serving_version=3)]
        decision = controller.decide(D, pkg(4), serving(3), recent)
        assert decision.deploy is not None and decision.deploy.package.version == 4


class TestProblems:
    def test_failed_endpoint_is_recorded_once(self):
        endpoint = serving(3, status="Failed", failure_reason="capacity")
        first = controller.decide(D, pkg(4), endpoint, [item(LIVE, 3, serving_version=3)])
        assert [r.status for r in first.records] == [FAILED] and first.deploy is None
        second = controller.decide(D, pkg(4), endpoint, [first.records[0]])
        assert not second.writes

    def test_multi_variant_endpoint_is_refused(self):
        decision = controller.decide(D, pkg(4), serving(3, variant_count=2), [])
        assert decision.records[0].status == FAILED and "multi-variant" in (decision.records[0].reason or "")
        assert decision.deploy is None

    def test_no_matching_version_leaves_endpoint_alone_and_says_so_once(self):
        first = controller.decide(D, None, serving(3), [item(LIVE, 3, serving_version=3)])
        assert [r.status for r in first.records] == [SKIPPED] and first.deploy is None
        assert not controller.decide(D, None, serving(3), [first.records[0]]).writes

    def test_package_without_inference_specification_fails_with_reason(self):
        decision = controller.decide(D, pkg(4), serving(3), [], approval_event(4, has_spec=False))
        assert decision.records[0].status == FAILED and "InferenceSpecification" in (
            decision.records[0].reason or ""
        )
        assert decision.deploy is None

    def test_unknown_inference_specification_does_not_block(self):
        decision = controller.decide(D, pkg(4), serving(3), [], approval_event(4, has_spec=None))
        assert decision.deploy is not None

    def test_refused_deployment_is_not_retried_even_without_endpoint(self):
        first = controller.decide(D, pkg(4), MISSING, [])
        failed = controller.failed_start(first, "create_model: ValidationException: bad role")
        assert failed.status == FAILED and failed.reason.startswith(controller.REFUSED)
        assert not controller.decide(D, pkg(4), MISSING, [failed]).writes

    @pytest.mark.parametrize("status", ["OutOfService", "UpdateRollbackFailed"])
    def test_odd_statuses_need_an_operator(self, status):
        decision = controller.decide(D, pkg(4), serving(3, status=status), [])
        assert decision.deploy is None and decision.records[0].status == FAILED


class TestSuperseded:
    def test_late_approval_of_an_older_version_is_superseded(self):
        decision = controller.decide(
            D, pkg(6), serving(6), [item(LIVE, 6, serving_version=6)], approval_event(4)
        )
        assert [(r.status, r.version) for r in decision.records] == [(SUPERSEDED, 4)]
        assert decision.records[0].serving_version == 6

    def test_superseded_once(self):
        recent = [item(SUPERSEDED, 4, serving_version=6), item(LIVE, 6, serving_version=6)]
        assert not controller.decide(D, pkg(6), serving(6), recent, approval_event(4)).writes

    def test_rejection_event_of_an_older_version_records_nothing(self):
        recent = [item(LIVE, 6, serving_version=6)]
        assert not controller.decide(D, pkg(6), serving(6), recent, approval_event(4, "Rejected")).writes

    def test_stage_follow(self):
        d = make_deployment(follows="Production")
        event = approval_event(2, "Approved", stage="Production")
        decision = controller.decide(d, pkg(5, stage="Production"), MISSING, [], event)
        assert [(r.status, r.version) for r in decision.records] == [(SUPERSEDED, 2)]
        assert decision.deploy is not None and decision.deploy.package.version == 5


def test_records_carry_the_endpoint_identity():
    decision = controller.decide(D, pkg(4), serving(3), [])
    started = decision.started
    assert started is not None
    assert (started.endpoint, started.account, started.region, started.group) == (
        D.endpoint,
        SERVING,
        D.region,
        GROUP,
    )


# --- config changes: the serving settings are desired state too --------------------------------------


def live(version: int = 3, *, instance_type: str = "ml.m5.large", count: int = 2, **kw) -> EndpointView:
    """An InService endpoint serving ``version`` as the gateway reads it: with its live instance type."""
    return serving(version, count=count, instance_type=instance_type, desired_instance_count=count, **kw)


class TestConfigChange:
    RECENT = [item(LIVE, 3, serving_version=3)]

    def test_settings_that_match_write_nothing(self):
        assert not controller.decide(D, pkg(3), live(), self.RECENT).writes

    def test_an_instance_type_change_rolls_out_the_same_version_blue_green(self):
        bigger = dataclasses.replace(D, instance_type="ml.m5.xlarge")
        decision = controller.decide(bigger, pkg(3), live(), self.RECENT)
        plan = decision.deploy
        assert plan is not None and plan.kind == "update" and plan.package.version == 3
        assert plan.instance_type == "ml.m5.xlarge" and plan.instance_count == 2
        assert plan.variant_name == "Blue"  # blue/green guardrails need the variant name kept
        assert plan.config_name != live().config_name
        alarms = rollback_alarms.alarm_names(plan.config_name)  # the new fleet's own alarms
        assert plan.deployment_config == controller.deployment_config(D.rollout, alarms)
        started = decision.started
        assert started is not None and started.status == IN_PROGRESS
        assert started.reason == (
            "config change: instance_type ml.m5.large -> ml.m5.xlarge; update of version 3 (canary) started"
        )
        assert (started.version, started.serving_version, started.endpoint_config) == (3, 3, plan.config_name)

    def test_a_count_change_without_autoscaling_rolls_out_a_new_fleet(self):
        four = dataclasses.replace(D, instance_count=4)
        decision = controller.decide(four, pkg(3), live(), self.RECENT)
        assert decision.deploy is not None and decision.deploy.instance_count == 4
        assert decision.started is not None
        assert (decision.started.reason or "").startswith("config change: instance_count 2 -> 4;")

    def test_a_count_change_of_an_autoscaled_variant_moves_the_autoscaling_minimum_not_the_fleet(self):
        four = dataclasses.replace(D, instance_count=4)
        endpoint = live(count=3, scaling=ScalingTarget(2, 6))  # scaled to 3 by its policy
        decision = controller.decide(four, pkg(3), endpoint, self.RECENT)
        assert decision.deploy is None
        assert decision.scaling == ScalingTarget(4, 6)
        assert decision.started is not None and decision.started.status == LIVE
        assert "autoscaling minimum 2 -> 4" in (decision.started.reason or "")

    def test_a_minimum_above_the_maximum_raises_the_maximum_and_says_so(self):
        eight = dataclasses.replace(D, instance_count=8)
        decision = controller.decide(eight, pkg(3), live(scaling=ScalingTarget(2, 6)), self.RECENT)
        assert decision.scaling == ScalingTarget(8, 8)
        assert "maximum 6 -> 8" in (decision.started.reason or "")  # type: ignore[union-attr]

    def test_an_autoscaled_count_that_differs_from_the_config_is_not_a_change(self):
        endpoint = live(count=5, scaling=ScalingTarget(2, 6))  # minimum = configured count
        assert not controller.decide(D, pkg(3), endpoint, self.RECENT).writes

    def test_an_instance_type_change_of_an_autoscaled_variant_needs_the_operator_once(self):
        bigger = dataclasses.replace(D, instance_type="ml.m5.xlarge")
        endpoint = live(scaling=ScalingTarget(2, 6))
        decision = controller.decide(bigger, pkg(3), endpoint, self.RECENT)
        assert decision.deploy is None and decision.scaling is None
        (refused,) = decision.records
        assert refused.status == FAILED
        assert (refused.reason or "").startswith(controller.CONFIG_CHANGE_REFUSED)
        assert "endpoint/fraud-detector-prod/variant/Blue" in (refused.reason or "")
        assert controller.AUTOSCALING_UPDATE_DOC in (refused.reason or "")
        again = controller.decide(bigger, pkg(3), endpoint, [refused, *self.RECENT])
        assert not again.records  # written once
        # the operator deregistered the target: the change rolls out, nothing holds it back
        then = controller.decide(bigger, pkg(3), live(), [refused, *self.RECENT])
        assert then.deploy is not None and then.deploy.instance_type == "ml.m5.xlarge"

    def test_a_new_version_on_an_autoscaled_variant_with_a_new_instance_type_is_refused_not_attempted(self):
        bigger = dataclasses.replace(D, instance_type="ml.m5.xlarge")
        decision = controller.decide(bigger, pkg(4), live(scaling=ScalingTarget(2, 6)), self.RECENT)
        assert decision.deploy is None
        assert [r.status for r in decision.records] == [FAILED]
        # once deregistered, version 4 is not held back by that refusal
        then = controller.decide(bigger, pkg(4), live(), [decision.records[0], *self.RECENT])
        assert then.deploy is not None and then.deploy.package.version == 4

    def test_a_new_version_takes_the_configured_count_when_not_autoscaled(self):
        four = dataclasses.replace(D, instance_count=4)
        decision = controller.decide(four, pkg(4), live(), self.RECENT)
        assert decision.deploy is not None and decision.deploy.instance_count == 4

    def test_the_config_change_goes_live_with_its_own_reason(self):
        bigger = dataclasses.replace(D, instance_type="ml.m5.xlarge")
        started = controller.decide(bigger, pkg(3), live(), self.RECENT).started
        assert started is not None
        after = EndpointView(
            exists=True,
            status="InService",
            config_name=started.endpoint_config,
            variant_name="Blue",
            variant_count=1,
            instance_count=2,
            instance_type="ml.m5.xlarge",
            desired_instance_count=2,
        )
        decision = controller.decide(bigger, pkg(3), after, [started, *self.RECENT])
        (done,) = decision.records
        assert done.status == LIVE and (done.reason or "").startswith("config change is live: version 3")
        assert decision.deploy is None and decision.cleanup_keep == started.endpoint_config

    def test_a_rolled_back_config_change_is_not_retried_until_the_config_changes_again(self):
        bigger = dataclasses.replace(D, instance_type="ml.m5.xlarge")
        started = controller.decide(bigger, pkg(3), live(), self.RECENT).started
        assert started is not None
        rolled_back = controller.decide(bigger, pkg(3), live(), [started, *self.RECENT]).records
        assert [r.status for r in rolled_back] == [ROLLED_BACK]
        assert "the config change (config change: instance_type" in (rolled_back[0].reason or "")
        recent = [*rolled_back, started, *self.RECENT]
        held = controller.decide(bigger, pkg(3), live(), recent)
        assert not held.writes and "not retried" in held.reason
        other = dataclasses.replace(D, instance_type="ml.c5.xlarge")  # a different change: tried
        assert controller.decide(other, pkg(3), live(), recent).deploy is not None
        retry = item(REQUESTED, 3, serving_version=3)  # `mlops retry`
        assert controller.decide(bigger, pkg(3), live(), [retry, *recent]).deploy is not None

    def test_a_live_model_on_another_execution_role_rolls_the_same_version_onto_the_configured_role(self):
        """After the upgrade from the shared execution role: the live model still names the old role
        (deleted by the upgrade), the deployment names the team's. The version is not new; its model is."""
        old_role = f"arn:aws:iam::{SERVING}:role/mlops-sagemaker-execution"
        team = dataclasses.replace(D, execution_role_arn=f"arn:aws:iam::{SERVING}:role/mlops-fraud-serving")
        decision = controller.decide(team, pkg(3), live(execution_role_arn=old_role), self.RECENT)
        plan = decision.deploy
        assert plan is not None and plan.kind == "update" and plan.package.version == 3
        assert plan.execution_role_arn == team.execution_role_arn
        assert plan.model_name == names.model_name(D.endpoint, 3, package_arn(3), team.execution_role_arn)
        assert plan.config_name != live().config_name
        assert plan.deployment_config == controller.deployment_config(
            D.rollout, rollback_alarms.alarm_names(plan.config_name)
        )  # blue/green with the new fleet's alarms, as any config change
        started = decision.started
        assert started is not None and started.status == IN_PROGRESS
        assert started.reason == (
            "config change: execution role mlops-sagemaker-execution -> mlops-fraud-serving; "
            "update of version 3 (canary) started"
        )
        # the same role (or one not read) is no change
        assert not controller.decide(
            team, pkg(3), live(execution_role_arn=team.execution_role_arn), self.RECENT
        ).writes
        assert not controller.decide(team, pkg(3), live(), self.RECENT).writes

    def test_a_network_isolation_change_rolls_the_same_version_onto_a_new_model(self):
        """EnableNetworkIsolation is fixed when a model is created (CreateModel): turning it off (or on)
        needs a new model, so a new config and a blue/green update of the serving version."""
        opened = dataclasses.replace(D, network_isolation=False)
        decision = controller.decide(opened, pkg(3), live(network_isolation=True), self.RECENT)
        plan = decision.deploy
        assert plan is not None and plan.kind == "update" and plan.package.version == 3
        assert plan.network_isolation is False
        assert plan.model_name == names.model_name(
            D.endpoint, 3, package_arn(3), D.execution_role_arn, network_isolation=False
        )
        assert decision.started is not None and decision.started.reason == (
            "config change: network_isolation true -> false; update of version 3 (canary) started"
        )
        assert not controller.decide(opened, pkg(3), live(network_isolation=False), self.RECENT).writes
        assert not controller.decide(opened, pkg(3), live(), self.RECENT).writes  # not read: no change
        back = controller.decide(D, pkg(3), live(network_isolation=False), self.RECENT).started
        assert back is not None and back.reason.startswith("config change: network_isolation false -> true;")

    def test_an_execution_role_change_joins_the_other_setting_changes(self):
        moved = dataclasses.replace(
            D,
            instance_type="ml.m5.xlarge",
            execution_role_arn=f"arn:aws:iam::{SERVING}:role/mlops-fraud-serving",
        )
        endpoint = live(execution_role_arn=D.execution_role_arn)
        started = controller.decide(moved, pkg(3), endpoint, self.RECENT).started
        assert started is not None and started.reason == (
            "config change: instance_type ml.m5.large -> ml.m5.xlarge, execution role "
            "mlops-sagemaker-execution -> mlops-fraud-serving; update of version 3 (canary) started"
        )

    def test_a_rollout_change_alone_deploys_nothing(self):
        linear = dataclasses.replace(D, rollout=Rollout("linear", step_percent=50, wait_seconds=60))
        assert not controller.decide(linear, pkg(3), live(), self.RECENT).writes

    def test_unknown_live_settings_are_not_a_change(self):
        # the gateway reads them only for an InService endpoint on a deployer-made config
        assert not controller.decide(
            dataclasses.replace(D, instance_type="ml.m5.xlarge"), pkg(3), serving(3), self.RECENT
        ).writes
