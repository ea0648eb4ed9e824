"""Small readers for IAM documents inside synthesized templates."""

from __future__ import annotations

import json
from typing import Any


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render(value: Any) -> str:
    """A readable string for a resolved value: Fn::Join parts concatenated, imports shown by name."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(render(p) for p in parts)
        if "Fn::ImportValue" in value:
            return f"<import:{render(value['Fn::ImportValue'])}>"
        if "Ref" in value:
            return f"<ref:{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return f"<getatt:{'.'.join(value['Fn::GetAtt'])}>"
    return json.dumps(value, sort_keys=True)


def principals_of(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal", {})
    if principal == "*":
        return ["*"]
    return sorted(render(p) for values in principal.values() for p in as_list(values))


def statements_by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


def actions_of(statement: dict[str, Any]) -> list[str]:
    return sorted(as_list(statement.get("Action", [])))


def resources_of(statement: dict[str, Any]) -> list[str]:
    return sorted(render(r) for r in as_list(statement.get("Resource", [])))


def iam_documents(templates: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every policy document in every template: (stack, where, document)."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for stack, template in templates.items():
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            where = f"{stack}/{logical_id}"
            kind = resource["Type"]
            if kind == "AWS::IAM::Policy" or kind == "AWS::IAM::ManagedPolicy":
                found.append((stack, where, props["PolicyDocument"]))
            elif kind == "AWS::IAM::Role":
                found.append((stack, f"{where}#trust", props["AssumeRolePolicyDocument"]))
                for policy in props.get("Policies", []):
                    found.append((stack, f"{where}#{policy['PolicyName']}", policy["PolicyDocument"]))
            elif kind in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
                found.append((stack, where, props["PolicyDocument"]))
            elif kind == "AWS::KMS::Key":
                found.append((stack, f"{where}#keypolicy", props["KeyPolicy"]))
            elif kind == "AWS::SageMaker::ModelPackageGroup" and "ModelPackageGroupPolicy" in props:
                found.append((stack, f"{where}#grouppolicy", props["ModelPackageGroupPolicy"]))
            elif kind == "AWS::Events::EventBusPolicy" and "Statement" in props:
                found.append((stack, where, {"Statement": as_list(props["Statement"])}))
    return found
