"""Book build time: a clean build (every chapter executed) and a rebuild with nothing changed.

Both builds write to a fresh temporary folder, with their own execution cache, so the
project's _build/ is left alone and the first build really executes everything. Prints the two
wall-clock times, their ratio, and the course's targets (clean < 10 min, rebuild < 20 s).

    python3 tasks.py bench            (runs every benchmark)
    .venv/bin/python benchmarks/bench_book.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tasks import course_env  # noqa: E402  (the environment of `python3 tasks.py book`)

JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")
CLEAN_TARGET_S = 600.0
REBUILD_TARGET_S = 20.0


def timed_build(output: Path) -> float:
    """Seconds taken by `jupyter-book build . -W -n --keep-going` writing into `output`."""
    env = course_env()
    command = [str(JUPYTER_BOOK), "build", ".", "-W", "-n", "--keep-going",
               "--path-output", str(output)]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"book build failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                 f"{result.stderr[-3000:]}")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-book-") as folder:
        output = Path(folder)
        clean = timed_build(output)
        rebuild = timed_build(output)
    print(f"book: clean build {clean:7.1f} s (target < {CLEAN_TARGET_S:.0f} s)"
          f"{'' if clean < CLEAN_TARGET_S else '  OVER TARGET'}")
    print(f"book: no-change rebuild {rebuild:7.1f} s (target < {REBUILD_TARGET_S:.0f} s)"
          f"{'' if rebuild < REBUILD_TARGET_S else '  OVER TARGET'}")
    print(f"book: clean build / no-change rebuild = {clean / rebuild:.1f}x "
          f"(cpu cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
