"""Names shared by stacks, the deployer and the CLI (see docs/contracts.md)."""

from __future__ import annotations

TEAM_TAG = "mlops:team"
PENDING = "PendingManualApproval"
# Condition keys of CreateModelPackage/UpdateModelPackage naming the lifecycle stage a request sets
# (Service Authorization Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html,
# spelled as there; the developer guide's examples write them lower-case and IAM compares key names
# case-insensitively: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html).
LIFECYCLE_STAGE_KEY = "sagemaker:ModelLifeCycle:Stage"
LIFECYCLE_STATUS_KEY = "sagemaker:ModelLifeCycle:StageStatus"


def registration_conditions(organization_id: str | None = None) -> dict[str, dict[str, str]]:
    """Conditions of every CreateModelPackage grant: the version starts PendingManualApproval and carries
    no lifecycle stage (only approvers set stages: a version registered straight into ``Production``
    would otherwise reach a stage-following endpoint without any approval)."""
    equals = {"sagemaker:ModelApprovalStatus": PENDING}
    if organization_id:
        equals["aws:PrincipalOrgID"] = organization_id
    return {
        "StringEquals": equals,
        "Null": {LIFECYCLE_STAGE_KEY: "true", LIFECYCLE_STATUS_KEY: "true"},
    }


def publisher_role_name(team: str) -> str:
    return f"mlops-{team}-publisher"


def approver_role_name(team: str) -> str:
    return f"mlops-{team}-approver"


def serving_role_name(team: str) -> str:
    """The SageMaker execution role of a team's models in each account that serves them: it reads only the
    team's artifact prefix and pulls only the team's allowed images (stacks/constructs/serving_roles.py)."""
    return f"mlops-{team}-serving"


SERVING_ROLE_PATTERN = serving_role_name("*")  # every team's execution role (iam:PassRole, resource policies)
DEPLOY_ACCESS_ROLE_NAME = "mlops-deploy-access"
DEPLOYER_FUNCTION_NAME = "mlops-deployer"
DEPLOYER_ROLE_NAME = "mlops-deployer"
LEDGER_TABLE_NAME = "mlops-deployment-ledger"
TOPIC_NAME = "mlops-deployments"
QUEUE_NAME = "mlops-deployer"
DLQ_NAME = "mlops-deployer-dlq"


def rollback_alarm_names(endpoint: str) -> tuple[str, str]:
    return (f"mlops-{endpoint}-5xx", f"mlops-{endpoint}-latency")


ARTIFACT_KEY_ALIAS = "alias/mlops-artifacts"


def artifact_bucket_name(registry_account: str, registry_region: str) -> str:
    return f"mlops-artifacts-{registry_account}-{registry_region}"


def pipeline_role_name(team: str) -> str:
    """The execution role of a team's pipeline, in the team account (stacks/constructs/team_pipeline.py)."""
    return f"mlops-{team}-pipeline"


def pipeline_name(team: str) -> str:
    return f"mlops-{team}"
