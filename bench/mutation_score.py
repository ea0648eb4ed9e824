"""Prints the mutation score of the last ``mutmut run`` (``make mutants``): killed / (killed + survived
+ timeouts + no tests), the counts, and every surviving mutant (see docs/mutants.md for the reasons)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

STATS = Path("mutants/mutmut-cicd-stats.json")
GOAL = 90.0


def main() -> int:
    stats = json.loads(STATS.read_text())
    judged = stats["killed"] + stats["survived"] + stats["timeout"] + stats["no_tests"] + stats["suspicious"]
    score = 100.0 * (stats["killed"] + stats["timeout"]) / judged if judged else 0.0
    print(
        f"mutation score: {score:.1f}% ({stats['killed']} killed, {stats['timeout']} timed out (counted killed), "
        f"{stats['survived']} survived, {stats['no_tests']} without covering tests, "
        f"{stats['suspicious']} suspicious, {stats['skipped']} skipped; {stats['total']} mutants) - goal {GOAL:.0f}%"
    )
    survivors = subprocess.run(
        [str(Path(sys.executable).with_name("mutmut")), "results"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    print("surviving mutants (`mutmut show <name>` prints one):")
    print(survivors.rstrip() or "  none")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
