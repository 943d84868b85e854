"""The explorers of the book: payload of each, and the time from an input event to the
updated display, measured in headless Chromium.

For each explorer a typical input is replayed 40 times (a weight typed, a slider moved, a layer
edited, a digit chosen, a unit selected). Two times per event, medians and maxima printed:

- update: from dispatching the event to the end of its handler, which has rebuilt the DOM
  and redrawn the canvases (the page's work, synchronous);
- to frame: from dispatching the event to the first animation frame after it, i.e. until the
  browser can paint the new state (includes waiting for the next frame, up to ~16 ms).

A no-op event measured the same way in the same run gives the frame wait alone, so the page's
own cost is the difference. Target (issue 10): under 50 ms to frame. Payload target: 300 KB.

    .venv/bin/python benchmarks/bench_explorers.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnncourse.viz.explorers import (  # noqa: E402
    SIZE_BUDGET_BYTES,
    arithmetic_explorer,
    image_kernel_explorer,
    lenet_explorer,
    receptive_field_explorer,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
REPEATS = 40
TARGET_MS = 50.0

# Runs in the page: replay `make(i)` (which dispatches one input event) `repeats` times.
MEASURE_JS = """
async ([body, repeats]) => {
  const app = document.querySelector('.cnnx-app');
  const make = new Function('app', 'i', body);
  const frame = () => new Promise(resolve => requestAnimationFrame(() => resolve()));
  const update = [], toFrame = [];
  for (let i = 0; i < repeats; i++) {
    await frame();
    const before = app.getAttribute('data-updates');
    const start = performance.now();
    make(app, i);
    const handled = performance.now();
    await frame();
    const painted = performance.now();
    if (body !== '' && app.getAttribute('data-updates') === before) {
      throw new Error('the event did not update the explorer');
    }
    update.push(handled - start);
    toFrame.push(painted - start);
  }
  return {update, toFrame};
}
"""

SCENARIOS = {  # explorer kind -> (what the reader does, JavaScript that does it once)
    "image_kernel": [
        ("type a weight", """
            const box = app.querySelectorAll('[data-role=weight]')[4];
            box.value = String(1 + i % 5);
            box.dispatchEvent(new Event('input', {bubbles: true}));"""),
        ("choose a kernel", """
            const menu = app.querySelector('[data-role=kernel-menu]');
            menu.value = String(i % menu.options.length);
            menu.dispatchEvent(new Event('change', {bubbles: true}));"""),
        ("move over a pixel", """
            const canvas = app.querySelector('canvas[data-role=output]');
            const box = canvas.getBoundingClientRect();
            canvas.dispatchEvent(new PointerEvent('pointermove', {bubbles: true,
              clientX: box.left + (5 + 3 * i) % box.width,
              clientY: box.top + box.height / 2}));"""),
    ],
    "arithmetic": [
        ("move the input slider", """
            const slider = app.querySelector('[data-role=input-size]');
            slider.value = String(3 + i % 8);
            slider.dispatchEvent(new Event('input', {bubbles: true}));"""),
        ("flip the transposed switch", """
            app.querySelector('[data-role=transposed]').click();"""),
    ],
    "receptive_field": [
        ("edit a kernel size", """
            const box = app.querySelector('[data-role=layer-row] [data-col=kernel]');
            box.value = String(1 + 2 * (i % 3));
            box.dispatchEvent(new Event('change', {bubbles: true}));"""),
        ("add or remove a layer", """
            if (i % 2 === 0) app.querySelector('[data-role=add-conv]').click();
            else Array.from(app.querySelectorAll('[data-role=remove]')).pop().click();"""),
    ],
    "lenet": [
        ("choose a digit", """
            const digits = app.querySelectorAll('[data-role=digit]');
            digits[i % digits.length].click();"""),
        ("select a C3 unit", """
            const canvas = app.querySelector('canvas[data-level="3"]');
            canvas.dispatchEvent(new KeyboardEvent('keydown', {bubbles: true,
              key: i % 2 ? 'ArrowLeft' : 'ArrowRight'}));"""),
    ],
}


def lenet_for_benchmark():
    """A seeded, untrained modern LeNet-5 and six test digits: the page's work is the same."""
    import keras

    from cnncourse import data, models

    keras.utils.set_random_seed(0)
    mnist = data.load_mnist("sample")
    images = np.pad(mnist.x_test[:6], ((0, 0), (2, 2), (2, 2), (0, 0)))
    return models.lenet5(variant="modern"), images, mnist.y_test[:6]


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):5.1f} ms, max {max(values):5.1f} ms"


def main() -> None:
    from playwright.sync_api import sync_playwright

    explorers = [image_kernel_explorer(), arithmetic_explorer(), receptive_field_explorer(),
                 lenet_explorer(*lenet_for_benchmark())]
    for explorer in explorers:
        print(f"{explorer.kind:>16}: payload {explorer.size_bytes / 1000:6.1f} KB "
              f"(budget {SIZE_BUDGET_BYTES / 1000:.0f} KB)")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-explorers-") as folder, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for explorer in explorers:
            page = browser.new_page(viewport={"width": 800, "height": 1000})
            page.goto(explorer.save(Path(folder) / f"{explorer.kind}.html").as_uri())
            frame_wait = page.evaluate(MEASURE_JS, ["", REPEATS])["toFrame"]
            for action, body in SCENARIOS[explorer.kind]:
                times = page.evaluate(MEASURE_JS, [body, REPEATS])
                worst = max(worst, statistics.median(times["toFrame"]))
                print(f"{explorer.kind:>16}: {action:<26} update {summary(times['update'])}; "
                      f"to frame {summary(times['toFrame'])}")
            print(f"{explorer.kind:>16}: {'(no-op event: frame wait)':<26} "
                  f"to frame {summary(frame_wait)}")
            page.close()
        browser.close()
    print(f"explorers: slowest median input-to-frame {worst:.1f} ms = "
          f"{worst / TARGET_MS:.2f} x the {TARGET_MS:.0f} ms target (cpu cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
