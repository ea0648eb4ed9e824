"""Rule patterns listing many names stay inside EventBridge's pattern size quota (2,048 characters by
default: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html)."""

from __future__ import annotations

import json

from stacks.constructs.event_forwarding import PATTERN_BUDGET, name_chunks, rule_id

FIXED = {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Endpoint State Change"]}


def test_few_names_make_one_pattern() -> None:
    assert name_chunks(FIXED, "EndpointName", ["b", "a"]) == [["a", "b"]]


def test_many_long_names_are_split_and_none_is_lost_or_repeated() -> None:
    names = [f"endpoint-{i:03d}-" + "x" * 26 for i in range(200)]  # 40 characters, the config's maximum
    chunks = name_chunks(FIXED, "EndpointName", list(reversed(names)))
    assert len(chunks) > 1
    assert [n for chunk in chunks for n in chunk] == sorted(names)
    for chunk in chunks:
        assert len(json.dumps({**FIXED, "detail": {"EndpointName": chunk}})) <= PATTERN_BUDGET < 2048


def test_the_first_rule_keeps_its_id() -> None:
    assert [rule_id("Rule", i) for i in range(3)] == ["Rule", "Rule2", "Rule3"]
