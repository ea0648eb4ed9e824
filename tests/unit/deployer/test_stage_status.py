"""A version is in a followed stage only with stage status Approved: `promote --stage-status Bogus`
(or PendingApproval, Rejected) never deploys, whatever the CLI lets through."""

from __future__ import annotations

import pytest
from deployer import controller

from tests.unit.deployer.deployer_fakes import package_arn


def summary(version: int, stage: str, stage_status: str) -> dict:
    return {
        "ModelPackageArn": package_arn(version),
        "ModelPackageVersion": version,
        "ModelApprovalStatus": "Approved",
        "ModelPackageStatus": "Completed",
        "ModelLifeCycle": {"Stage": stage, "StageStatus": stage_status},
    }


@pytest.mark.parametrize("status", ["Bogus", "PendingApproval", "Rejected", "approved"])
def test_a_stage_without_stage_status_approved_is_not_followed(status: str) -> None:
    package = controller.package_from_summary(summary(3, "Production", status))
    assert package.stage_status == status
    assert not controller.matches(package, "Production")


def test_the_newest_version_with_the_stage_approved_is_desired() -> None:
    listed = [
        controller.package_from_summary(summary(3, "Production", "Bogus")),
        controller.package_from_summary(summary(2, "Production", "Approved")),
    ]
    desired = controller.pick_desired(listed, "Production")
    assert desired is not None and desired.version == 2
