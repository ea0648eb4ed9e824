"""The evaluation script's metrics and report format (the container-only parts are not run here)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pipelines.team_pipeline import evaluate
from pipelines.team_pipeline import template as t


def test_auc_counts_ranked_pairs_and_half_for_ties() -> None:
    assert evaluate.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert evaluate.auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == 1.0
    assert evaluate.auc([0, 1], [0.5, 0.5]) == 0.5
    assert math.isnan(evaluate.auc([1, 1], [0.2, 0.9]))


def test_report_has_the_path_the_pipeline_condition_reads() -> None:
    result = evaluate.report([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    node: object = result
    for key in t.METRIC_JSON_PATH.split("."):
        assert isinstance(node, dict)
        node = node[key]
    assert node == 0.75
    metrics = result["binary_classification_metrics"]
    assert isinstance(metrics, dict)
    assert metrics["accuracy"] == {"value": 0.75, "standard_deviation": "NaN"}
    assert metrics["precision"]["value"] == 1.0 and metrics["recall"]["value"] == 0.5
    assert metrics["confusion_matrix"] == {"0": {"0": 2, "1": 0}, "1": {"0": 1, "1": 1}}
    json.dumps(result)  # serialisable as written to evaluation.json


def test_mismatched_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="3 labels but 2 scores"):
        evaluate.report([0, 1, 1], [0.1, 0.2])


def test_read_test_set_reads_every_csv_label_first(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1,0.5,2\n0,0.1,3\n")
    (tmp_path / "b.csv").write_text("1,0.7,1\n\n")
    labels, rows = evaluate.read_test_set(tmp_path.glob("*.csv"))
    assert labels == [1, 0, 1]
    assert rows == [[0.5, 2.0], [0.1, 3.0], [0.7, 1.0]]


def test_read_test_set_refuses_an_empty_test_set(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no test records"):
        evaluate.read_test_set(tmp_path.glob("*.csv"))
