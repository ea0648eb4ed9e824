"""Every refusal of the config parser, exactly: the key path, the value and what is allowed.

One row per way a config can be wrong (each `raise ConfigError` of stacks/config.py and the bounds around
it). The whole triple is compared, not a fragment: a message that names the wrong key, drops the value or
garbles the allowed values is the failure a user meets, and `make mutants` counts the parser's error
paths only as tested when a test would notice that.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from stacks.config import ConfigError, known_regions, parse_config
from tests.unit.stacks.test_config import BASE

DELETE = object()
DEP = "deployments.fraud-detector-prod"
REC = "deployments.recommender-prod"
REGIONS = "a SageMaker region name, one of: " + ", ".join(sorted(known_regions()))


def edited(edits: dict[str, Any]) -> Any:
    """The example config with each dotted key set (or deleted with DELETE); the key "" replaces it all."""
    raw: Any = copy.deepcopy(BASE)
    for path, value in edits.items():
        if path == "":
            raw = value
            continue
        *parents, last = path.split(".")
        node = raw
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return raw


REFUSALS: list[tuple[dict[str, Any], str, Any, str]] = [
    ({"": "not a mapping"}, "(top level)", "not a mapping", "expected a mapping of keys to values"),
    ({"colour": "blue"}, "colour", "colour", "allowed keys: ['deployments', 'registry', 'retired', 'teams']"),
    ({"teams": DELETE}, "teams", None, "this key is required"),
    ({"registry": "x"}, "registry", "x", "expected a mapping of keys to values"),
    (
        {"registry.colour": "blue"},
        "registry.colour",
        "colour",
        "allowed keys: ['account', 'allowed_image_accounts', 'organization_id', 'region', 'require_image_digest', 'stages', 'team_stacks']",
    ),
    ({"registry.account": DELETE}, "registry.account", None, "this key is required"),
    (
        {"registry.account": 111111111111},
        "registry.account",
        111111111111,
        "an account id must be a quoted string of 12 digits (YAML reads unquoted digits as a number)",
    ),
    (
        {"registry.account": True},
        "registry.account",
        True,
        "an AWS account id is exactly 12 digits (quote it)",
    ),
    (
        {"registry.account": "12345"},
        "registry.account",
        "12345",
        "an AWS account id is exactly 12 digits (quote it)",
    ),
    (
        {"registry.account": "1111111111111"},
        "registry.account",
        "1111111111111",
        "an AWS account id is exactly 12 digits (quote it)",
    ),
    ({"registry.region": "eu-middle-9"}, "registry.region", "eu-middle-9", REGIONS),
    ({"registry.region": 5}, "registry.region", 5, REGIONS),
    (
        {"registry.organization_id": "org-1"},
        "registry.organization_id",
        "org-1",
        "an AWS Organizations id like o-a1b2c3d4e5",
    ),
    (
        {"registry.organization_id": 5},
        "registry.organization_id",
        5,
        "an AWS Organizations id like o-a1b2c3d4e5",
    ),
    (
        {"registry.allowed_image_accounts": []},
        "registry.allowed_image_accounts",
        [],
        "a non-empty list of quoted 12-digit account ids",
    ),
    (
        {"registry.allowed_image_accounts": "763104351884"},
        "registry.allowed_image_accounts",
        "763104351884",
        "a non-empty list of quoted 12-digit account ids",
    ),
    (
        {"registry.allowed_image_accounts": ["763104351884", "123"]},
        "registry.allowed_image_accounts[1]",
        "123",
        "an AWS account id is exactly 12 digits (quote it)",
    ),
    ({"registry.require_image_digest": "yes"}, "registry.require_image_digest", "yes", "true or false"),
    ({"registry.team_stacks": 0}, "registry.team_stacks", 0, "an integer from 1 to 100"),
    ({"registry.team_stacks": 101}, "registry.team_stacks", 101, "an integer from 1 to 100"),
    ({"registry.team_stacks": True}, "registry.team_stacks", True, "an integer from 1 to 100"),
    ({"registry.team_stacks": "2"}, "registry.team_stacks", "2", "an integer from 1 to 100"),
    (
        {"registry.stages": []},
        "registry.stages",
        [],
        "a non-empty list of lifecycle stage names, e.g. [Staging, Production]",
    ),
    (
        {"registry.stages": "Production"},
        "registry.stages",
        "Production",
        "a non-empty list of lifecycle stage names, e.g. [Staging, Production]",
    ),
    (
        {"registry.stages": ["Staging", "bad stage"]},
        "registry.stages[1]",
        "bad stage",
        "a lifecycle stage name: 1-63 letters, digits and hyphens",
    ),
    (
        {"registry.stages": ["Staging", 5]},
        "registry.stages[1]",
        5,
        "a lifecycle stage name: 1-63 letters, digits and hyphens",
    ),
    (
        {"registry.stages": ["Staging", "approved"]},
        "registry.stages[1]",
        "approved",
        "'Approved' is the approval status, not a stage name",
    ),
    (
        {"registry.stages": ["Live", "live"]},
        "registry.stages",
        ["Live", "live"],
        "each stage name once (names differing only in case clash)",
    ),
    ({"teams": {}}, "teams", {}, "configure at least one team"),
    ({"teams": ["fraud"]}, "teams", ["fraud"], "expected a mapping of keys to values"),
    (
        {"teams.Fraud": {"account": "222222222222", "model_groups": ["x"]}},
        "teams.Fraud",
        "Fraud",
        "team names are 1-32 lowercase letters, digits and hyphens",
    ),
    ({"teams.fraud": "x"}, "teams.fraud", "x", "expected a mapping of keys to values"),
    (
        {"teams.fraud.colour": "blue"},
        "teams.fraud.colour",
        "colour",
        "allowed keys: ['account', 'approver_account', 'approver_principals', 'image_repositories', 'model_groups', 'pipeline', 'publisher_principals', 'stage_approvers']",
    ),
    ({"teams.fraud.account": DELETE}, "teams.fraud.account", None, "this key is required"),
    ({"teams.fraud.model_groups": DELETE}, "teams.fraud.model_groups", None, "this key is required"),
    (
        {"teams.fraud.approver_account": "1"},
        "teams.fraud.approver_account",
        "1",
        "an AWS account id is exactly 12 digits (quote it)",
    ),
    (
        {"teams.fraud.model_groups": []},
        "teams.fraud.model_groups",
        [],
        "a non-empty list of model package group names",
    ),
    (
        {"teams.fraud.model_groups": "fraud-detector"},
        "teams.fraud.model_groups",
        "fraud-detector",
        "a non-empty list of model package group names",
    ),
    (
        {"teams.fraud.model_groups": ["fraud-detector", "bad_name!"]},
        "teams.fraud.model_groups[1]",
        "bad_name!",
        "1-63 letters, digits and hyphens, starting with a letter or digit",
    ),
    (
        {"teams.recsys.model_groups": ["recommender", "fraud-explainer"]},
        "teams.recsys.model_groups[1]",
        "fraud-explainer",
        "group names are unique across teams; already used by team 'fraud'",
    ),
    (
        {"teams.fraud.image_repositories": []},
        "teams.fraud.image_repositories",
        [],
        "a non-empty list of ECR repository names",
    ),
    (
        {"teams.fraud.image_repositories": "fraud/inference"},
        "teams.fraud.image_repositories",
        "fraud/inference",
        "a non-empty list of ECR repository names",
    ),
    (
        {"teams.fraud.image_repositories": ["fraud/inference", "Fraud"]},
        "teams.fraud.image_repositories[1]",
        "Fraud",
        "an ECR repository name: 2-256 lowercase letters, digits, '.', '_', '-' and '/' (e.g. fraud/inference)",
    ),
    (
        {"teams.fraud.image_repositories": ["f"]},
        "teams.fraud.image_repositories[0]",
        "f",
        "an ECR repository name: 2-256 lowercase letters, digits, '.', '_', '-' and '/' (e.g. fraud/inference)",
    ),
    (
        {"teams.fraud.image_repositories": ["a" * 257]},
        "teams.fraud.image_repositories[0]",
        "a" * 257,
        "an ECR repository name: 2-256 lowercase letters, digits, '.', '_', '-' and '/' (e.g. fraud/inference)",
    ),
    (
        {"teams.fraud.image_repositories": [5]},
        "teams.fraud.image_repositories[0]",
        5,
        "an ECR repository name: 2-256 lowercase letters, digits, '.', '_', '-' and '/' (e.g. fraud/inference)",
    ),
    (
        {"teams.fraud.image_repositories": ["fraud/inference", "fraud/inference"]},
        "teams.fraud.image_repositories[1]",
        "fraud/inference",
        "each repository once",
    ),
    (
        {"teams.fraud.publisher_principals": []},
        "teams.fraud.publisher_principals",
        [],
        "a non-empty list of IAM principal ARN patterns",
    ),
    (
        {"teams.fraud.publisher_principals": "arn:aws:iam::222222222222:role/ds"},
        "teams.fraud.publisher_principals",
        "arn:aws:iam::222222222222:role/ds",
        "a non-empty list of IAM principal ARN patterns",
    ),
    (
        {
            "teams.fraud.publisher_principals": [
                "arn:aws:iam::222222222222:role/ds",
                "arn:aws:iam::222222222222:group/ds",
            ]
        },
        "teams.fraud.publisher_principals[1]",
        "arn:aws:iam::222222222222:group/ds",
        "an IAM principal ARN pattern such as arn:<partition>:iam::<account id>:role/approvers-* (a role, user or root; '*' and '?' allowed in the name)",
    ),
    (
        {"teams.fraud.publisher_principals": ["arn:aws:iam::333333333333:role/ds"]},
        "teams.fraud.publisher_principals[0]",
        "arn:aws:iam::333333333333:role/ds",
        "a principal of account 222222222222, the account this role trusts",
    ),
    (
        {"teams.fraud.publisher_principals": [5]},
        "teams.fraud.publisher_principals[0]",
        5,
        "an IAM principal ARN pattern such as arn:<partition>:iam::<account id>:role/approvers-* (a role, user or root; '*' and '?' allowed in the name)",
    ),
    (
        {"teams.fraud.approver_principals": ["arn:aws:iam::222222222222:role/approvers-*"]},
        "teams.fraud.approver_principals[0]",
        "arn:aws:iam::222222222222:role/approvers-*",
        "a principal of account 444444444444, the account this role trusts",
    ),
    (
        {"teams.fraud.stage_approvers": "x"},
        "teams.fraud.stage_approvers",
        "x",
        "expected a mapping of keys to values",
    ),
    (
        {"teams.fraud.stage_approvers": {"bad stage": ["333333333333"]}},
        "teams.fraud.stage_approvers.bad stage",
        "bad stage",
        "a lifecycle stage name: 1-63 letters, digits and hyphens",
    ),
    (
        {"teams.fraud.stage_approvers": {"Production": []}},
        "teams.fraud.stage_approvers.Production",
        [],
        "a non-empty list of account ids and/or principal ARN patterns",
    ),
    (
        {"teams.fraud.stage_approvers": {"Production": "333333333333"}},
        "teams.fraud.stage_approvers.Production",
        "333333333333",
        "a non-empty list of account ids and/or principal ARN patterns",
    ),
    (
        {"teams.fraud.stage_approvers": {"Production": ["arn:aws:iam::333333333333:group/x"]}},
        "teams.fraud.stage_approvers.Production[0]",
        "arn:aws:iam::333333333333:group/x",
        "an IAM principal ARN pattern such as arn:<partition>:iam::<account id>:role/approvers-* (a role, user or root; '*' and '?' allowed in the name)",
    ),
    (
        {"teams.fraud.stage_approvers": {"Production": ["333333333333", "3333"]}},
        "teams.fraud.stage_approvers.Production[1]",
        "3333",
        "an AWS account id is exactly 12 digits (quote it)",
    ),
    (
        {"teams.fraud.stage_approvers": {"Production": [333333333333]}},
        "teams.fraud.stage_approvers.Production[0]",
        333333333333,
        "an account id must be a quoted string of 12 digits (YAML reads unquoted digits as a number)",
    ),
    (
        {"teams.fraud.stage_approvers": {"Live": ["333333333333"]}},
        "teams.fraud.stage_approvers.Live",
        "Live",
        "a stage of registry.stages: Proposal, Development, QA, Staging, PreProduction, Production, Archived",
    ),
    (
        {"teams.fraud.stage_approvers": {"Production": ["333333333333", "999999999999"]}},
        "teams.fraud.stage_approvers.Production[1]",
        "999999999999",
        "an account of this config (registry, team, approver or serving account): 111111111111, 222222222222, 333333333333, 444444444444, 555555555555",
    ),
    (
        {"teams.fraud.stage_approvers": {"Production": ["arn:aws:iam::999999999999:role/release"]}},
        "teams.fraud.stage_approvers.Production[0]",
        "arn:aws:iam::999999999999:role/release",
        "an account of this config (registry, team, approver or serving account): 111111111111, 222222222222, 333333333333, 444444444444, 555555555555",
    ),
    ({"teams.fraud.pipeline": "x"}, "teams.fraud.pipeline", "x", "expected a mapping of keys to values"),
    (
        {"teams.fraud.pipeline.colour": "blue"},
        "teams.fraud.pipeline.colour",
        "colour",
        "allowed keys: ['enabled', 'evaluation_instance_type', 'metric_threshold', 'model_group', 'schedule', 'training_instance_type']",
    ),
    ({"teams.fraud.pipeline.enabled": "yes"}, "teams.fraud.pipeline.enabled", "yes", "true or false"),
    (
        {"teams.fraud.pipeline.model_group": "recommender"},
        "teams.fraud.pipeline.model_group",
        "recommender",
        "one of the team's groups: fraud-detector, fraud-explainer",
    ),
    (
        {"teams.fraud.pipeline.metric_threshold": 1.5},
        "teams.fraud.pipeline.metric_threshold",
        1.5,
        "a number from 0 to 1 (the minimum AUC)",
    ),
    (
        {"teams.fraud.pipeline.metric_threshold": -0.1},
        "teams.fraud.pipeline.metric_threshold",
        -0.1,
        "a number from 0 to 1 (the minimum AUC)",
    ),
    (
        {"teams.fraud.pipeline.metric_threshold": True},
        "teams.fraud.pipeline.metric_threshold",
        True,
        "a number from 0 to 1 (the minimum AUC)",
    ),
    (
        {"teams.fraud.pipeline.metric_threshold": "high"},
        "teams.fraud.pipeline.metric_threshold",
        "high",
        "a number from 0 to 1 (the minimum AUC)",
    ),
    (
        {"teams.fraud.pipeline.schedule": "daily"},
        "teams.fraud.pipeline.schedule",
        "daily",
        "an EventBridge Scheduler expression: cron(...) or rate(...)",
    ),
    (
        {"teams.fraud.pipeline.schedule": 5},
        "teams.fraud.pipeline.schedule",
        5,
        "an EventBridge Scheduler expression: cron(...) or rate(...)",
    ),
    (
        {"teams.fraud.pipeline.training_instance_type": "big"},
        "teams.fraud.pipeline.training_instance_type",
        "big",
        "an instance type SageMaker accepts here (TrainingInstanceType in botocore's service model), such as ml.m5.large, ml.m5.xlarge, ml.c5.xlarge",
    ),
    (
        {"teams.fraud.pipeline.training_instance_type": "ml.m5.larg"},
        "teams.fraud.pipeline.training_instance_type",
        "ml.m5.larg",
        "an instance type SageMaker accepts here (TrainingInstanceType in botocore's service model), such as ml.m5.large, ml.m5.xlarge, ml.m5.2xlarge, ml.m5.4xlarge, ml.m5.12xlarge, ml.m5.24xlarge; did you mean 'ml.m5.large' or 'ml.m5.xlarge'?",
    ),
    (
        {"teams.fraud.pipeline.evaluation_instance_type": "ml.t2.nano"},
        "teams.fraud.pipeline.evaluation_instance_type",
        "ml.t2.nano",
        "an instance type SageMaker accepts here (ProcessingInstanceType in botocore's service model), such as ml.m5.large, ml.m5.xlarge, ml.c5.xlarge",
    ),
    (
        {"teams.fraud.pipeline.evaluation_instance_type": 5},
        "teams.fraud.pipeline.evaluation_instance_type",
        5,
        "an instance type SageMaker accepts here (ProcessingInstanceType in botocore's service model), such as ml.m5.large, ml.m5.xlarge, ml.c5.xlarge",
    ),
    ({"deployments": "x"}, "deployments", "x", "expected a mapping of keys to values"),
    (
        {"deployments.bad_name": {}},
        "deployments.bad_name",
        "bad_name",
        "a SageMaker endpoint name: letters, digits and hyphens",
    ),
    (
        {"deployments." + "e" * 60: {}},
        "deployments." + "e" * 60,
        "e" * 60,
        "endpoint names are at most 40 characters here (generated model and config names append a version and a hash)",
    ),
    ({f"{DEP}": "x"}, f"{DEP}", "x", "expected a mapping of keys to values"),
    (
        {f"{DEP}.colour": "blue"},
        f"{DEP}.colour",
        "colour",
        "allowed keys: ['account', 'follows', 'instance_count', 'instance_type', 'model_group', 'network_isolation', 'region', 'rollout']",
    ),
    ({f"{DEP}.instance_type": DELETE}, f"{DEP}.instance_type", None, "this key is required"),
    (
        {f"{DEP}.model_group": "ghost"},
        f"{DEP}.model_group",
        "ghost",
        "a configured model group, one of: fraud-detector, fraud-explainer, recommender",
    ),
    (
        {f"{DEP}.follows": "Approved!"},
        f"{DEP}.follows",
        "Approved!",
        "'Approved' or a model lifecycle stage name (letters, digits, '_' and '-'), e.g. Production",
    ),
    (
        {f"{DEP}.follows": "approved"},
        f"{DEP}.follows",
        "approved",
        "'Approved' or a stage declared in registry.stages: Proposal, Development, QA, Staging, PreProduction, Production, Archived; did you mean 'Approved'?",
    ),
    (
        {f"{DEP}.follows": "Prodution"},
        f"{DEP}.follows",
        "Prodution",
        "'Approved' or a stage declared in registry.stages: Proposal, Development, QA, Staging, PreProduction, Production, Archived; did you mean 'Production' or 'PreProduction'?",
    ),
    (
        {f"{DEP}.follows": "prod"},
        f"{DEP}.follows",
        "prod",
        "'Approved' or a stage declared in registry.stages: Proposal, Development, QA, Staging, PreProduction, Production, Archived",
    ),
    (
        {f"{DEP}.instance_type": "m5.large"},
        f"{DEP}.instance_type",
        "m5.large",
        "an instance type SageMaker accepts here (ProductionVariantInstanceType in botocore's service model), such as ml.m5.large, ml.m5.xlarge, ml.c5.xlarge; did you mean 'ml.r5.large' or 'ml.m5.large'?",
    ),
    (
        {f"{DEP}.instance_type": "ml.m5.larg"},
        f"{DEP}.instance_type",
        "ml.m5.larg",
        "an instance type SageMaker accepts here (ProductionVariantInstanceType in botocore's service model), such as ml.m5.large, ml.m5.xlarge, ml.m5.2xlarge, ml.m5.4xlarge, ml.m5.12xlarge, ml.m5.24xlarge; did you mean 'ml.m5.large' or 'ml.m5d.large'?",
    ),
    (
        {f"{DEP}.instance_type": "ml.m99.large"},
        f"{DEP}.instance_type",
        "ml.m99.large",
        "an instance type SageMaker accepts here (ProductionVariantInstanceType in botocore's service model), such as ml.m5.large, ml.m5.xlarge, ml.c5.xlarge; did you mean 'ml.m5.large' or 'ml.m8g.large'?",
    ),
    (
        {f"{DEP}.instance_type": 5},
        f"{DEP}.instance_type",
        5,
        "an instance type SageMaker accepts here (ProductionVariantInstanceType in botocore's service model), such as ml.m5.large, ml.m5.xlarge, ml.c5.xlarge",
    ),
    ({f"{DEP}.instance_count": 0}, f"{DEP}.instance_count", 0, "an integer from 1 to 100"),
    ({f"{DEP}.instance_count": 101}, f"{DEP}.instance_count", 101, "an integer from 1 to 100"),
    ({f"{DEP}.region": "mars-1"}, f"{DEP}.region", "mars-1", REGIONS),
    (
        {f"{DEP}.region": "us-east-1"},
        f"{DEP}.region",
        "us-east-1",
        "the registry's region eu-west-1: SageMaker needs a model's artifacts and image in the endpoint's region, and the registry keeps them in its own (no cross-region copies)",
    ),
    (
        {f"{DEP}.account": "3333"},
        f"{DEP}.account",
        "3333",
        "an AWS account id is exactly 12 digits (quote it)",
    ),
    (
        {f"{DEP}.network_isolation": "yes"},
        f"{DEP}.network_isolation",
        "yes",
        "true (the default: the containers get no network) or false (only for a model that needs the network)",
    ),
    ({f"{DEP}.rollout": "x"}, f"{DEP}.rollout", "x", "expected a mapping of keys to values"),
    (
        {f"{DEP}.rollout.strategy": "big_bang"},
        f"{DEP}.rollout.strategy",
        "big_bang",
        "one of: all_at_once, canary, linear, rolling",
    ),
    (
        {f"{DEP}.rollout": {"strategy": "all_at_once", "step_percent": 10}},
        f"{DEP}.rollout.step_percent",
        "step_percent",
        "allowed keys: ['bake_seconds', 'strategy']",
    ),
    (
        {f"{DEP}.rollout": {"strategy": "all_at_once", "bake_seconds": 3601}},
        f"{DEP}.rollout.bake_seconds",
        3601,
        "an integer from 0 to 3600",
    ),
    ({f"{DEP}.rollout.step_percent": DELETE}, f"{DEP}.rollout.step_percent", None, "this key is required"),
    ({f"{DEP}.rollout.step_percent": 60}, f"{DEP}.rollout.step_percent", 60, "an integer from 1 to 50"),
    ({f"{DEP}.rollout.step_percent": 0}, f"{DEP}.rollout.step_percent", 0, "an integer from 1 to 50"),
    (
        {f"{DEP}.rollout.step_percent": 50, f"{DEP}.instance_count": 3},
        f"{DEP}.rollout.step_percent",
        50,
        "a canary of 50% of 3 instance(s) is 2 instance(s), more than SageMaker's limit of 50% of the fleet; use instance_count >= 2 and a smaller step_percent, or strategy all_at_once",
    ),
    (
        {f"{DEP}.rollout.step_percent": 25, f"{DEP}.instance_count": 1},
        f"{DEP}.rollout.step_percent",
        25,
        "a canary of 25% of 1 instance(s) is 1 instance(s), more than SageMaker's limit of 50% of the fleet; use instance_count >= 2 and a smaller step_percent, or strategy all_at_once",
    ),
    ({f"{DEP}.rollout.wait_seconds": 3601}, f"{DEP}.rollout.wait_seconds", 3601, "an integer from 0 to 3600"),
    ({f"{DEP}.rollout.bake_seconds": -1}, f"{DEP}.rollout.bake_seconds", -1, "an integer from 0 to 3600"),
    ({f"{REC}.rollout.step_percent": 9}, f"{REC}.rollout.step_percent", 9, "an integer from 10 to 50"),
    ({f"{REC}.rollout.step_percent": 51}, f"{REC}.rollout.step_percent", 51, "an integer from 10 to 50"),
    (
        {f"{REC}.rollout": {"strategy": "rolling"}},
        f"{REC}.rollout.batch_percent",
        None,
        "rolling needs batch_percent (5-50) or batch_instances",
    ),
    (
        {f"{REC}.rollout": {"strategy": "rolling", "batch_percent": 25, "step_percent": 10}},
        f"{REC}.rollout.step_percent",
        "step_percent",
        "allowed keys: ['batch_instances', 'batch_percent', 'max_execution_seconds', 'rollback_batch_instances', 'rollback_batch_percent', 'strategy', 'wait_seconds']",
    ),
    (
        {f"{REC}.rollout": {"strategy": "rolling", "batch_percent": 25, "batch_instances": 1}},
        f"{REC}.rollout.batch_instances",
        1,
        "set only one of batch_percent and batch_instances",
    ),
    (
        {f"{REC}.rollout": {"strategy": "rolling", "batch_percent": 4}},
        f"{REC}.rollout.batch_percent",
        4,
        "an integer from 5 to 50",
    ),
    (
        {f"{REC}.rollout": {"strategy": "rolling", "batch_percent": 51}},
        f"{REC}.rollout.batch_percent",
        51,
        "an integer from 5 to 50",
    ),
    (
        {f"{REC}.rollout": {"strategy": "rolling", "batch_instances": 3}},
        f"{REC}.rollout.batch_instances",
        3,
        "an integer from 1 to 2",
    ),
    (
        {f"{REC}.rollout": {"strategy": "rolling", "batch_instances": 0}},
        f"{REC}.rollout.batch_instances",
        0,
        "an integer from 1 to 2",
    ),
    (
        {f"{REC}.rollout": {"strategy": "rolling", "batch_instances": 1}, f"{REC}.instance_count": 1},
        f"{REC}.rollout.batch_instances",
        1,
        "no whole number of instances is 5-50% of instance_count 1; use batch_percent or a larger instance_count",
    ),
    (
        {f"{REC}.rollout": {"strategy": "rolling", "batch_percent": 50}, f"{REC}.instance_count": 1},
        f"{REC}.rollout.strategy",
        "rolling",
        "a batch is at most 50% of the fleet, so rolling needs instance_count >= 2 (got 1)",
    ),
    (
        {f"{REC}.rollout": {"strategy": "rolling", "batch_percent": 25, "rollback_batch_percent": 101}},
        f"{REC}.rollout.rollback_batch_percent",
        101,
        "an integer from 5 to 100",
    ),
    (
        {
            f"{REC}.rollout": {
                "strategy": "rolling",
                "batch_percent": 25,
                "rollback_batch_percent": 10,
                "rollback_batch_instances": 1,
            }
        },
        f"{REC}.rollout.rollback_batch_instances",
        1,
        "set only one of rollback_batch_percent and rollback_batch_instances",
    ),
    (
        {f"{REC}.rollout": {"strategy": "rolling", "batch_percent": 25, "wait_seconds": 3601}},
        f"{REC}.rollout.wait_seconds",
        3601,
        "an integer from 0 to 3600",
    ),
    (
        {
            f"{REC}.rollout": {
                "strategy": "rolling",
                "batch_percent": 25,
                "wait_seconds": 300,
                "max_execution_seconds": 1200,
            }
        },
        f"{REC}.rollout.max_execution_seconds",
        1200,
        "more than the 1200 s the batches wait (4 x 300 s)",
    ),
    (
        {f"{REC}.rollout": {"strategy": "rolling", "batch_percent": 25, "max_execution_seconds": 599}},
        f"{REC}.rollout.max_execution_seconds",
        599,
        "an integer from 600 to 28800",
    ),
    (
        {
            f"{REC}.rollout": {"strategy": "rolling", "batch_percent": 5, "wait_seconds": 3600},
            f"{REC}.instance_count": 40,
        },
        f"{REC}.rollout.wait_seconds",
        3600,
        "20 batches x 3600 s must leave room inside SageMaker's 28800 s maximum execution timeout",
    ),
    ({"retired": "x"}, "retired", "x", "expected a mapping of keys to values"),
    (
        {"retired.bad_name": {"on_remove": "keep"}},
        "retired.bad_name",
        "bad_name",
        "a SageMaker endpoint name: letters, digits and hyphens",
    ),
    ({"retired.old": "x"}, "retired.old", "x", "expected a mapping of keys to values"),
    ({"retired.old": {}}, "retired.old.on_remove", None, "this key is required"),
    (
        {"retired.old": {"on_remove": "keep", "instance_count": 2}},
        "retired.old.instance_count",
        "instance_count",
        "allowed keys: ['account', 'on_remove', 'region']",
    ),
    (
        {"retired.old": {"on_remove": "destroy"}},
        "retired.old.on_remove",
        "destroy",
        "delete (the deployer deletes the endpoint, its configs and models) or keep (it keeps running, no longer managed)",
    ),
    (
        {"retired.old": {"on_remove": "Delete"}},
        "retired.old.on_remove",
        "Delete",
        "delete (the deployer deletes the endpoint, its configs and models) or keep (it keeps running, no longer managed); did you mean 'delete'?",
    ),
    (
        {"retired.Recommender-Prod": {"on_remove": "delete"}},
        "retired.Recommender-Prod",
        "Recommender-Prod",
        "an endpoint is either in deployments or retired, not both (remove one)",
    ),
    (
        {"retired.old": {"on_remove": "keep", "region": "us-east-1"}},
        "retired.old.region",
        "us-east-1",
        "the registry's region eu-west-1: SageMaker needs a model's artifacts and image in the endpoint's region, and the registry keeps them in its own (no cross-region copies)",
    ),
    ({"retired.old": {"on_remove": "keep", "region": "mars-1"}}, "retired.old.region", "mars-1", REGIONS),
    (
        {"retired.old": {"on_remove": "keep", "account": "3333"}},
        "retired.old.account",
        "3333",
        "an AWS account id is exactly 12 digits (quote it)",
    ),
]


@pytest.mark.parametrize(("edits", "path", "value", "allowed"), REFUSALS, ids=lambda v: None)
def test_every_refusal_names_its_key_its_value_and_what_is_allowed(
    edits: dict[str, Any], path: str, value: Any, allowed: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(edited(edits))
    assert (caught.value.path, caught.value.value, caught.value.allowed) == (path, value, allowed)


def test_the_message_is_key_then_value_then_allowed() -> None:
    assert str(ConfigError("teams.fraud.account", "1", "exactly 12 digits")) == (
        "config error at 'teams.fraud.account': '1' is not allowed; exactly 12 digits"
    )
