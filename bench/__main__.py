"""`make bench`: every benchmark, figures printed (python -m bench)."""

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

for script in ("synth_bench.py", "deployer_bench.py", "ui_bench.py"):
    print(f"\n=== {script} ===", flush=True)
    sys.argv = [str(HERE / script)]
    runpy.run_path(str(HERE / script), run_name="__main__")
