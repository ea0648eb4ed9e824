"""A mutation score you can have in half an hour: judge a seeded uniform random sample of the mutants.

The whole scope (6,600 mutants) takes hours here (docs/mutants.md). A uniform random sample estimates the
same score with a known error: ``make mutants SAMPLE=500`` picks the sample from every mutant mutmut made,
judges those not yet judged killed, and prints the sample's score with its 95% interval (Wilson) and every
sampled survivor. The sample is the N mutants whose names hash lowest (seeded): each mutant's place does not
depend on the others, so an edit that adds or removes mutants elsewhere leaves the rest of the sample as it
was and runs stay comparable. Verdicts already in ``mutants/`` are reused only
when they are "killed": the tests only grow, so a killed mutant stays killed; survivors are judged again.

Usage (what `make mutants SAMPLE=N` runs): python -m bench.mutation_sample N
"""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

SEED = 2026
GOAL = 90.0
MUTMUT = str(Path(sys.executable).with_name("mutmut"))
KILLED = {"killed", "timeout"}  # mutmut counts a mutant that made the tests run past the limit as caught


def verdicts() -> dict[str, str]:
    """Every mutant mutmut made, with its current status ("not checked" until judged)."""
    for attempt in range(5):  # a meta file being rewritten by a running mutmut fails the read; try again
        out = subprocess.run(
            [MUTMUT, "results", "--all", "true"], capture_output=True, text=True, check=False
        )
        if out.returncode == 0:
            break
        time.sleep(1 + attempt)
    else:
        raise SystemExit(f"mutmut results failed: {out.stderr.strip()[-500:]}")
    found = {}
    for line in out.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            found[name] = status
    return found


def wilson(killed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    if not total:
        return 0.0, 0.0
    p = killed / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return 100 * (centre - half), 100 * (centre + half)


def main(size: int) -> int:
    everything = verdicts()
    if not everything:
        print("no mutants yet: mutmut generates them on its first run (make mutants SAMPLE=N does this)")
        return 1
    sample = sorted(everything, key=lambda name: hashlib.sha256(f"{SEED}:{name}".encode()).hexdigest())[:size]
    to_judge = [name for name in sample if everything[name] not in KILLED]
    print(f"sample of {len(sample)} of {len(everything)} mutants (seed {SEED}); judging {len(to_judge)} now")
    if to_judge:
        subprocess.run([MUTMUT, "run", "--max-children", "2", *to_judge], check=False)
    now = verdicts()
    # mutmut regenerates the mutants first: one whose function changed meanwhile may be gone (renumbered)
    sample = [name for name in sample if name in now]
    statuses = Counter(now[name] for name in sample)
    killed = sum(count for status, count in statuses.items() if status in KILLED)
    low, high = wilson(killed, len(sample))
    print(
        f"sampled mutation score: {100 * killed / len(sample):.1f}% (95% interval {low:.1f}-{high:.1f}%) "
        f"over {len(sample)} of {len(everything)} mutants - goal {GOAL:.0f}%; "
        + ", ".join(f"{status} {count}" for status, count in sorted(statuses.items()))
    )
    print("sampled mutants not killed (`mutmut show <name>` prints one):")
    for name in sorted(name for name in sample if now[name] not in KILLED):
        print(f"    {name}: {now[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1])))
