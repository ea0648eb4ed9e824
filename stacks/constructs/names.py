"""Names shared by stacks, the deployer and the CLI (see docs/contracts.md)."""

from __future__ import annotations

TEAM_TAG = "mlops:team"
PENDING = "PendingManualApproval"


def publisher_role_name(team: str) -> str:
    return f"mlops-{team}-publisher"


def approver_role_name(team: str) -> str:
    return f"mlops-{team}-approver"


EXECUTION_ROLE_NAME = "mlops-sagemaker-execution"
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
