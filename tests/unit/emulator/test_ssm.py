"""SSM parameters through CloudFormation with tags, and AWS's value size limits (local.emulator.ssm)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import REGION


def test_a_tagged_parameter_deploys_through_cloudformation(aws: Any) -> None:
    template = {
        "Resources": {
            "Part": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": "/mlops/deployments/part-000",
                    "Type": "String",
                    "Tier": "Standard",
                    "Value": '{"part":0}',
                    "Tags": {"mlops:project": "model-registry"},  # CloudFormation's map form
                },
            }
        }
    }
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="catalog", TemplateBody=json.dumps(template))
    ssm = boto3.client("ssm", region_name=REGION)
    found = ssm.get_parameters_by_path(Path="/mlops/deployments")["Parameters"]
    assert [(p["Name"], p["Value"]) for p in found] == [("/mlops/deployments/part-000", '{"part":0}')]
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/mlops/deployments/part-000")
    assert tags["TagList"] == [{"Key": "mlops:project", "Value": "model-registry"}]


@pytest.mark.parametrize(("tier", "limit"), [("Standard", 4096), ("Advanced", 8192)])
def test_values_longer_than_the_tier_allows_are_refused(aws: Any, tier: str, limit: int) -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/p/ok", Value="x" * limit, Type="String", Tier=tier)
    with pytest.raises(ClientError) as err:
        ssm.put_parameter(Name="/p/big", Value="x" * (limit + 1), Type="String", Tier=tier)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert f"maximum parameter value of {limit} characters" in err.value.response["Error"]["Message"]


def test_an_update_without_tier_keeps_the_advanced_limit(aws: Any) -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/p/adv", Value="x", Type="String", Tier="Advanced")
    ssm.put_parameter(Name="/p/adv", Value="x" * 5000, Type="String", Overwrite=True)
    assert len(ssm.get_parameter(Name="/p/adv")["Parameter"]["Value"]) == 5000
