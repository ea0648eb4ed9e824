"""Settings parsing (validated, frozen) and event parsing against real-shaped events."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest
from deployer.errors import MalformedEvent, SettingsError
from deployer.events import (
    EndpointChange,
    ModelPackageChange,
    Sweep,
    parse_event,
    parse_lambda_event,
    parse_sqs_event,
)
from deployer.settings import load_settings, parse_deployment

from tests.unit.deployer.deployer_fakes import load_event, sqs_event

GOOD = {
    "endpoint": "fraud-detector-prod",
    "group": "fraud-detector",
    "group_arn": "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/fraud-detector",
    "account": "333333333333",
    "region": "eu-west-1",
    "follows": "Approved",
    "instance_type": "ml.m5.large",
    "instance_count": 2,
    "rollout": {"strategy": "canary", "step_percent": 25, "wait_seconds": 300, "bake_seconds": 600},
    "alarms": ["mlops-fraud-detector-prod-5xx", "mlops-fraud-detector-prod-latency"],
    "execution_role_arn": "arn:aws:iam::333333333333:role/mlops-sagemaker-execution",
    "deploy_role_arn": "arn:aws:iam::333333333333:role/mlops-deploy-access",
}


def env(*deployments) -> dict[str, str]:
    return {
        "LEDGER_TABLE": "mlops-deployment-ledger",
        "TOPIC_ARN": "arn:aws:sns:eu-west-1:111111111111:mlops-deployments",
        "REGISTRY_ACCOUNT": "111111111111",
        "DEPLOYMENTS": json.dumps(list(deployments)),
    }


class TestSettings:
    def test_contract_example_parses(self):
        settings = load_settings(env(GOOD))
        (d,) = settings.deployments
        assert d.endpoint_id == "333333333333/eu-west-1/fraud-detector-prod"
        assert d.registry_region == "eu-west-1"
        assert d.package_arn(7) == "arn:aws:sagemaker:eu-west-1:111111111111:model-package/fraud-detector/7"
        assert d.alarms == tuple(GOOD["alarms"]) and settings.invalid == ()
        with pytest.raises(dataclasses.FrozenInstanceError):
            d.endpoint = "other"  # type: ignore[misc]

    def test_network_isolation_defaults_on(self):
        assert parse_deployment(GOOD).network_isolation is True
        assert parse_deployment({**GOOD, "network_isolation": False}).network_isolation is False

    def test_registry_endpoint_has_no_deploy_role(self):
        d = parse_deployment({**GOOD, "deploy_role_arn": None})
        assert d.deploy_role_arn is None

    def test_all_at_once_without_waits(self):
        d = parse_deployment({**GOOD, "rollout": {"strategy": "all_at_once"}})
        assert d.rollout.strategy == "all_at_once" and d.rollout.as_dict() == {
            "strategy": "all_at_once",
            "bake_seconds": 0,
        }

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (
                {"rollout": {"strategy": "blue"}},
                "rollout.strategy: 'blue': allowed values are canary, linear, all_at_once, rolling",
            ),
            (
                {"rollout": {"strategy": "canary", "step_percent": 60, "wait_seconds": 1, "bake_seconds": 1}},
                "step_percent: 60",
            ),
            (
                {"rollout": {"strategy": "linear", "step_percent": 5, "wait_seconds": 1, "bake_seconds": 1}},
                "from 10 to 50",
            ),
            (
                {
                    "rollout": {
                        "strategy": "canary",
                        "step_percent": 10,
                        "wait_seconds": 4000,
                        "bake_seconds": 1,
                    }
                },
                "wait_seconds",
            ),
            (
                {
                    "rollout": {
                        "strategy": "linear",
                        "step_percent": 10,
                        "wait_seconds": 3600,
                        "bake_seconds": 0,
                    }
                },
                "maximum execution",
            ),
            (
                {"rollout": {"strategy": "all_at_once", "step_percent": 10}},
                "not allowed for strategy 'all_at_once'",
            ),
            ({"alarms": []}, "alarms: []"),
            ({"alarms": [f"a{i}" for i in range(11)]}, "1-10 alarm names"),
            ({"instance_count": 0}, "instance_count: 0"),
            ({"instance_count": True}, "instance_count: True"),
            ({"account": "12345"}, "account: '12345': expected a 12-digit account id"),
            (
                {"group_arn": "arn:aws:sagemaker:eu-west-1:111111111111:model-package-group/other"},
                "does not name group",
            ),
            ({"execution_role_arn": "role"}, "execution_role_arn"),
            ({"endpoint": "bad_name"}, "endpoint: 'bad_name'"),
            ({"instance_type": "m5.large"}, "instance_type"),
            ({"network_isolation": "yes"}, "network_isolation: 'yes': expected true or false"),
        ],
    )
    def test_errors_name_key_value_and_what_is_allowed(self, change, message):
        settings = load_settings(env({**GOOD, **change}))
        assert settings.deployments == ()
        (invalid,) = settings.invalid
        assert message in invalid.reason and invalid.reason.startswith("DEPLOYMENTS[0]")
        assert invalid.group == "fraud-detector"

    def test_one_bad_deployment_does_not_stop_the_others(self):
        other = {**GOOD, "endpoint": "fraud-detector-stage", "rollout": {"strategy": "nope"}}
        settings = load_settings(env(GOOD, other))
        assert [d.endpoint for d in settings.deployments] == ["fraud-detector-prod"]
        assert settings.invalid[0].endpoint_id == "333333333333/eu-west-1/fraud-detector-stage"

    def test_deployments_from_a_file_next_to_the_code(self, tmp_path):
        """The stack ships the deployments as a file in the code package (environment is capped at 4 KB)."""
        path = tmp_path / "deployments.json"
        path.write_text(json.dumps([GOOD]))
        settings = load_settings({**env(), "DEPLOYMENTS": "", "DEPLOYMENTS_FILE": str(path)})
        assert [d.endpoint for d in settings.deployments] == [GOOD["endpoint"]]

    def test_duplicate_endpoint_is_invalid(self):
        settings = load_settings(env(GOOD, GOOD))
        assert len(settings.deployments) == 1 and "configured twice" in settings.invalid[0].reason

    @pytest.mark.parametrize(
        ("override", "message"),
        [
            ({"LEDGER_TABLE": ""}, "LEDGER_TABLE"),
            ({"DEPLOYMENTS": "{not json"}, "not valid JSON"),
            ({"DEPLOYMENTS": "{}"}, "must be a JSON list"),
            ({"REGISTRY_ACCOUNT": "abc"}, "12-digit"),
            ({"DEPLOYMENTS": ""}, r"DEPLOYMENTS \(or DEPLOYMENTS_FILE\)"),
            ({"DEPLOYMENTS": "", "DEPLOYMENTS_FILE": "/nonexistent/deployments.json"}, "cannot be read"),
        ],
    )
    def test_unusable_environment_raises(self, override, message):
        with pytest.raises(SettingsError, match=message):
            load_settings({**env(GOOD), **override})

    def test_routing(self):
        settings = load_settings(env(GOOD))
        assert settings.for_group("fraud-detector") and not settings.for_group("other")
        assert settings.for_endpoint("Fraud-Detector-Prod", "333333333333", "eu-west-1")
        assert not settings.for_endpoint("fraud-detector-prod", "444444444444", "eu-west-1")
        assert settings.for_endpoint("fraud-detector-prod", None, None)


class TestEvents:
    def test_approval_event(self):
        trigger = parse_event(load_event("model_package_approved"))
        assert isinstance(trigger, ModelPackageChange)
        assert trigger.group == "fraud-detector" and trigger.version == 7
        assert trigger.package_arn.endswith("model-package/fraud-detector/7")
        assert trigger.approval_status == "Approved" and trigger.has_inference_spec is True
        assert trigger.approved_by == "arn:aws:sts::111111111111:assumed-role/mlops-fraud-approver/alice"
        assert trigger.approval_description.startswith("AUC 0.94")
        assert trigger.time == datetime(2026, 11, 20, 9, 58, 41, tzinfo=UTC)

    def test_stage_event(self):
        trigger = parse_event(load_event("model_package_stage_production"))
        assert isinstance(trigger, ModelPackageChange) and trigger.stage == "Production"

    def test_package_without_inference_spec(self):
        event = load_event("model_package_approved")
        del event["detail"]["InferenceSpecification"]
        assert parse_event(event).has_inference_spec is False  # type: ignore[union-attr]
        del event["detail"]["ModelPackageStatus"]
        assert parse_event(event).has_inference_spec is None  # type: ignore[union-attr]

    def test_group_and_version_from_arn_when_missing(self):
        event = load_event("model_package_approved")
        del event["detail"]["ModelPackageGroupName"], event["detail"]["ModelPackageVersion"]
        trigger = parse_event(event)
        assert (trigger.group, trigger.version) == ("fraud-detector", 7)  # type: ignore[union-attr]

    def test_endpoint_event_takes_account_from_the_endpoint_arn(self):
        event = load_event("endpoint_in_service")
        event["account"] = "111111111111"  # as rewritten by cross-account forwarding
        event.pop("region")
        trigger = parse_event(event)
        assert isinstance(trigger, EndpointChange)
        assert (trigger.endpoint, trigger.account, trigger.region) == (
            "fraud-detector-prod",
            "333333333333",
            "eu-west-1",
        )
        assert trigger.status == "IN_SERVICE"

    def test_epoch_millisecond_time(self):
        event = load_event("endpoint_updating")
        event["time"] = "1583831889050"
        assert parse_event(event).time == datetime.fromtimestamp(1583831889.05, tz=UTC)

    def test_sweep(self):
        assert isinstance(parse_event(load_event("scheduled_sweep")), Sweep)

    @pytest.mark.parametrize(
        ("event", "reason"),
        [
            ([], "expected a JSON object"),
            ({"source": "aws.s3", "detail-type": "Object Created"}, "unexpected event source"),
            (
                {
                    "source": "aws.sagemaker",
                    "detail-type": "SageMaker Training Job State Change",
                    "detail": {},
                },
                "unexpected detail-type",
            ),
            ({"source": "aws.sagemaker", "detail-type": "SageMaker Endpoint State Change"}, "no 'detail'"),
            (
                {"source": "aws.sagemaker", "detail-type": "SageMaker Endpoint State Change", "detail": {}},
                "EndpointName",
            ),
            (
                {
                    "source": "aws.sagemaker",
                    "detail-type": "SageMaker Model Package State Change",
                    "detail": {},
                },
                "ModelPackageArn",
            ),
        ],
    )
    def test_malformed(self, event, reason):
        with pytest.raises(MalformedEvent, match=reason):
            parse_event(event)

    def test_sqs_batch_keeps_bad_records_as_errors(self):
        batch = sqs_event(
            load_event("model_package_approved"), "not json", {"source": "x"}, ids=["a", "b", "c"]
        )
        messages = parse_sqs_event(batch)
        assert [m.message_id for m in messages] == ["a", "b", "c"]
        assert messages[0].trigger is not None and messages[0].error is None
        assert "not JSON" in messages[1].error.reason  # type: ignore[union-attr]
        assert messages[2].trigger is None and messages[2].error is not None

    def test_recorded_sqs_batch_file(self):
        (message,) = parse_sqs_event(load_event("sqs_batch"))
        assert message.message_id == "059f36b4-87a3-44ab-83d2-661975830a7d" and isinstance(
            message.trigger, Sweep
        )

    def test_bare_eventbridge_event(self):
        (message,) = parse_lambda_event(load_event("scheduled_sweep"))
        assert isinstance(message.trigger, Sweep)

    def test_not_an_sqs_event(self):
        with pytest.raises(MalformedEvent):
            parse_lambda_event({"hello": "world"})
