"""A team's ECR repositories, created in the team account, with the pull policy cross-account serving needs.

An image in another account's ECR is pulled with the model's execution role, so the repository's own
policy must admit that role as well as its identity policy
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-deploy-xaccount.html: cross-account
deployment needs resource policies on the model group, the ECR repository and the S3 bucket). Here each
repository admits only the team's execution roles (`mlops-<team>-serving`) of the serving accounts of
the team's deployments, only the three pull actions, through the account principal plus
`aws:PrincipalArn` (the roles need not exist when this stack deploys).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.constructs.names import serving_role_name

PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


class TeamImageRepositories(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        team: str,
        repositories: Sequence[str],
        serving_accounts: Sequence[str],
        organization_id: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        readers = sorted(set(serving_accounts) - {stack.account})  # the team's own account needs no grant
        role_arns = [
            stack.format_arn(
                service="iam", region="", account=a, resource="role", resource_name=serving_role_name(team)
            )
            for a in readers
        ]
        conditions: dict[str, dict[str, object]] = {"ArnEquals": {"aws:PrincipalArn": role_arns}}
        if organization_id:
            conditions["StringEquals"] = {"aws:PrincipalOrgID": organization_id}
        self.repositories: list[ecr.Repository] = []
        for name in repositories:
            repository = ecr.Repository(
                self,
                f"Repository-{name.replace('/', '-')}",
                repository_name=name,
                image_tag_mutability=ecr.TagMutability.IMMUTABLE,  # a tag names one image forever
                image_scan_on_push=True,
                removal_policy=RemovalPolicy.RETAIN,  # it holds the images approved versions name
            )
            if readers:
                repository.add_to_resource_policy(
                    iam.PolicyStatement(
                        sid="TeamExecutionRolesPull",
                        principals=[iam.AccountPrincipal(a) for a in readers],
                        actions=PULL_ACTIONS,
                        conditions=conditions,
                    )
                )
            self.repositories.append(repository)
