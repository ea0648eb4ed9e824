"""Property-based test: random histories of approvals, rejections, stage changes, duplicated and
reordered events, busy/failed/rolled-back endpoints, driven through the real service and
controller against the in-memory SageMaker that models endpoint status transitions.

Properties:
- UpdateEndpoint is never called on a busy endpoint and never twice in a row for the same version
  (no retry loop after a rollback);
- once events stop, the endpoint converges: it serves the newest matching version, unless that
  version's own attempt rolled back or failed (then it stays InService on what it rolled back to,
  and the ledger says why);
- every ledger item that says what serves (live, rolled_back) agrees with the endpoint;
- every version that matches at the end and whose approval the deployer saw ends in the ledger
  as live, rolled_back, failed or superseded, or is what the endpoint serves.
"""

from __future__ import annotations

import os

from deployer.models import FAILED, LIVE, ROLLED_BACK, SUPERSEDED
from deployer.service import DeployerService
from deployer.settings import Rollout
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.unit.deployer.deployer_fakes import (
    SWEEP,
    FakeLedger,
    FakeNotifier,
    FakeSageMaker,
    make_deployment,
    make_settings,
    package_event,
)

APPROVED_EP = make_deployment(endpoint="ep-approved")
PROD_EP = make_deployment(
    endpoint="ep-prod",
    follows="Production",
    rollout=Rollout("linear", step_percent=20, wait_seconds=60, bake_seconds=0),
)
DEPLOYMENTS = (APPROVED_EP, PROD_EP)
ENDPOINTS = [d.endpoint for d in DEPLOYMENTS]

version_index = st.integers(0, 30)
approve = st.tuples(st.just("approve"), version_index)
stage = st.tuples(
    st.just("stage"), version_index, st.sampled_from(["Production", "Production", "Staging", None])
)
deliver = st.tuples(st.just("deliver"), st.integers(0, 1000), st.booleans())
tick = st.tuples(st.just("tick"), st.sampled_from(ENDPOINTS))
fail_next = st.tuples(st.just("fail_next"), st.sampled_from(ENDPOINTS))
operations = st.one_of(
    st.tuples(st.just("register"), st.sampled_from([True, True, True, False])),
    approve,
    approve,
    st.tuples(st.just("reject"), version_index),
    stage,
    deliver,
    deliver,
    deliver,
    tick,
    tick,
    tick,
    fail_next,
    fail_next,
    st.tuples(st.just("system_update"), st.sampled_from(ENDPOINTS)),
    st.tuples(st.just("sweep")),
    st.tuples(st.just("sweep")),
    st.tuples(st.just("register"), st.just(True)),
    approve,
    stage,
)


class World:
    def __init__(self) -> None:
        self.sm = FakeSageMaker()
        self.ledger = FakeLedger(self.sm)
        self.notifier = FakeNotifier()
        self.service = DeployerService(make_settings(*DEPLOYMENTS), self.sm, self.ledger, self.notifier)  # type: ignore[arg-type]
        self.queue: list = []  # undelivered triggers (package and endpoint events)
        self.seen_approvals: set[tuple[str, int]] = set()  # (follows, version) whose event was handled

    def ledger_size(self) -> int:
        return sum(len(items) for items in self.ledger.items.values())

    def pump_endpoint_events(self) -> None:
        self.queue.extend(self.sm.events)
        self.sm.events.clear()

    def deliver(self, trigger) -> None:
        self.service.handle_trigger(trigger)
        version = getattr(trigger, "version", None)
        if version is not None:
            if trigger.approval_status == "Approved":
                self.seen_approvals.add(("Approved", version))
            if trigger.stage and trigger.approval_status == "Approved":
                self.seen_approvals.add((trigger.stage, version))
        self.pump_endpoint_events()

    def apply(self, op: tuple) -> None:
        kind = op[0]
        packages = self.sm.packages.get("fraud-detector", [])
        if kind == "register":
            package = self.sm.register(has_spec=op[1])
            self.queue.append(package_event(package, event_id=f"reg-{package.version}"))
        elif kind in ("approve", "reject", "stage") and packages:
            package = packages[op[1] % len(packages)]
            if kind == "approve":
                package.approval = "Approved"
            elif kind == "reject":
                package.approval = "Rejected"
            else:
                package.stage = op[2]
            self.queue.append(package_event(package, event_id=f"{kind}-{package.version}-{len(self.queue)}"))
        elif kind == "deliver" and self.queue:
            index = op[1] % len(self.queue)
            trigger = (
                self.queue[index] if op[2] else self.queue.pop(index)
            )  # op[2]: duplicate (keep it queued)
            self.deliver(trigger)
        elif kind == "tick":
            self.sm.tick(op[1])
            self.pump_endpoint_events()
        elif kind == "fail_next":
            self.sm.fail_next_update.add(op[1])
        elif kind == "system_update":
            self.sm.system_update(op[1])
            self.pump_endpoint_events()
        elif kind == "sweep":
            self.deliver(SWEEP)

    def settle(self) -> None:
        """Events stop arriving: finish transitions, deliver what is queued, sweep, until quiet."""
        self.sm.fail_next_update.clear()
        for _ in range(40):
            calls_before, items_before = len(self.sm.calls), self.ledger_size()
            for name in ENDPOINTS:
                while self.sm.tick(name):
                    pass
            self.pump_endpoint_events()
            while self.queue:
                self.deliver(self.queue.pop(0))
            self.deliver(SWEEP)
            reads = ("list_model_packages", "describe_endpoint", "describe_model_package")
            writes = [c for c in self.sm.calls[calls_before:] if c[0] not in reads]
            busy = [ep for ep in self.sm.endpoints.values() if ep.status not in ("InService", "Failed")]
            if not writes and not busy and self.ledger_size() == items_before:
                return
        raise AssertionError("the controller did not settle")


def newest_matching(sm: FakeSageMaker, follows: str):
    for package in sorted(sm.packages.get("fraud-detector", []), key=lambda p: p.version, reverse=True):
        # a stage-following endpoint needs the stage AND an Approved version (issue 9)
        if package.approval == "Approved" and (follows == "Approved" or package.stage == follows):
            return package
    return None


# `make mutants` runs this test for every surviving deployer mutant: there it explores fewer histories
# (MUTANT_PROPERTY_EXAMPLES, docs/mutants.md); `make test` always runs 300.
EXAMPLES = int(os.environ.get("MUTANT_PROPERTY_EXAMPLES", "300"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 4), st.lists(operations, min_size=20, max_size=100))
def test_random_histories_converge_without_loops(registered, ops):
    world = World()
    for _ in range(registered):
        world.apply(("register", True))
    for op in ops:
        world.apply(op)
        assert world.sm.violations == []
    world.settle()

    assert world.sm.violations == []
    assert world.ledger.mismatches == []
    statuses = {i.status for items in world.ledger.items.values() for i in items}
    event(f"updates: {min(3, len(sum(world.sm.update_targets.values(), [])))}+")
    for status in sorted(statuses):
        event(f"ledger has {status}")
    for deployment in DEPLOYMENTS:
        desired = newest_matching(world.sm, deployment.follows)
        items = world.ledger.all(deployment.endpoint_id)
        if desired is None:
            continue
        # superseded items are notes about other versions; the state is the newest other item
        latest = next((i for i in reversed(items) if i.status != SUPERSEDED), None)
        blocked = (
            latest is not None
            and latest.status in (FAILED, ROLLED_BACK)
            and latest.model_package_arn == desired.arn
        )
        ep = world.sm.endpoints.get(deployment.endpoint)
        if blocked:
            assert latest is not None and latest.reason
            assert ep is None or ep.status == "InService"
            # a version blocked for good must have earned it: no InferenceSpecification (refused)
            # or an update of it that SageMaker rolled back; any other final failure is a bug
            if latest.status == FAILED:
                assert not desired.has_spec, latest
            else:
                assert desired.arn in world.sm.rolled_back_packages, latest
        else:
            assert ep is not None and ep.status == "InService", (deployment.endpoint, ep, latest)
            assert world.sm.serving_version(deployment.endpoint) == desired.version, (
                deployment.endpoint,
                items[-3:],
            )
            # the ledger answers "what serves now" correctly (after a failed or rolled-back attempt
            # of a version that no longer matches, that item already says the desired one serves)
            assert latest is not None and latest.serving_version == desired.version
            assert latest.status in (LIVE, ROLLED_BACK, FAILED), latest

        serving = world.sm.serving_version(deployment.endpoint)
        outcomes = {(i.version, i.status) for i in items}
        for follows, version in world.seen_approvals:
            if follows != deployment.follows:
                continue
            package = world.sm.package(version)
            still_matches = package.approval == "Approved" and (
                follows == "Approved" or package.stage == follows
            )
            if not still_matches or version == serving:
                continue
            assert any((version, s) in outcomes for s in (LIVE, ROLLED_BACK, FAILED, SUPERSEDED)), (
                deployment.endpoint,
                version,
                sorted(o for o in outcomes if o[0] is not None),
            )


def test_duplicates_and_reordering_alone_cause_exactly_one_update_per_version():
    world = World()
    first = world.sm.register(approval="Approved")
    second = world.sm.register(approval="Approved")
    events = [package_event(second), package_event(first), package_event(second), package_event(first)]
    for trigger in events:
        world.deliver(trigger)
    world.settle()
    for trigger in events:  # very late duplicates
        world.deliver(trigger)
    updates = [c for c in world.sm.calls if c[0] in ("create_endpoint", "update_endpoint")]
    assert [c[0] for c in updates if c[1]["endpoint"] == "ep-approved"] == ["create_endpoint"]
    assert world.sm.serving_version("ep-approved") == 2
    statuses = [(i.status, i.version) for i in world.ledger.all(APPROVED_EP.endpoint_id)]
    assert statuses == [("in_progress", 2), ("superseded", 1), ("live", 2)]
