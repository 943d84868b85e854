"""What each dependency tier costs a new user, measured side by side in one run.

For each tier (base, keras, grading, book) a fresh virtual environment gets
`pip install .[tier]` with an empty pip cache (a first install, downloads included); the script
prints the install time, the size of the environment, and the time from an empty folder to a
running lab-1 test cell for the base tier (venv, install, `cnncourse labs get`, the lab's first
cells with the reference answer pasted in). Ratios are against the base tier, so that a loaded
machine or a slow index changes the figures less than the comparison.

    python benchmarks/bench_install.py [--tiers base,keras,grading,book]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_install import lab_script  # noqa: E402  (the tests' own way to run a lab)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def install(tier: str, workdir: Path) -> tuple[float, int, Path]:
    """Seconds to create the venv and install the tier, its size in bytes, its bin/ folder."""
    env_dir = workdir / f"venv-{tier}"
    target = str(ROOT) if tier == "base" else f"{ROOT}[{tier}]"
    env = dict(os.environ, PIP_CACHE_DIR=str(workdir / f"cache-{tier}"))
    start = time.perf_counter()
    venv.create(env_dir, with_pip=True)
    completed = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", target],
        env=env, capture_output=True, text=True)
    if completed.returncode:
        sys.exit(f"pip install {target} failed:\n{completed.stderr[-3000:]}")
    return time.perf_counter() - start, folder_size(env_dir), env_dir / "bin"


def first_test_cell(bin_dir: Path, workdir: Path) -> float:
    """Seconds from `cnncourse labs get lab1_convolution` to its first test cell passing."""
    lab = "lab1_convolution"
    start = time.perf_counter()
    subprocess.run([str(bin_dir / "cnncourse"), "labs", "get", lab, str(workdir / lab)],
                   check=True, capture_output=True)
    release = json.loads((workdir / lab / f"{lab}.ipynb").read_text())
    source = json.loads((ROOT / "solutions" / lab / f"{lab}.ipynb").read_text())
    first_test = next(i for i, c in enumerate(release["cells"])
                      if c["metadata"].get("nbgrader", {}).get("grade"))
    release["cells"] = release["cells"][: first_test + 1]
    script = workdir / "first_cells.py"
    script.write_text(lab_script(release, source, with_solutions=True))
    subprocess.run([str(bin_dir / "python"), str(script)], check=True,
                   env=dict(os.environ, MPLBACKEND="Agg"))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiers", default="base,keras,grading,book")
    tiers = parser.parse_args().tiers.split(",")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        workdir = Path(tmp)
        rows = {}
        for tier in tiers:
            seconds, size, bin_dir = install(tier, workdir)
            rows[tier] = (seconds, size)
            if tier == "base":
                to_cell = seconds + first_test_cell(bin_dir, workdir)
                print(f"empty folder -> lab 1's first test cell passing: {to_cell:.0f} s")
        base_seconds, base_size = rows.get("base", next(iter(rows.values())))
        print(f"{'tier':10s} {'install s':>10s} {'size MB':>9s} {'x time':>7s} {'x size':>7s}")
        for tier, (seconds, size) in rows.items():
            print(f"{tier:10s} {seconds:10.0f} {size / 1e6:9.0f} {seconds / base_seconds:7.1f} "
                  f"{size / base_size:7.1f}")


if __name__ == "__main__":
    main()
