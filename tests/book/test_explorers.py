"""The four explorers of the book in headless Chromium, checked against numpy and the package.

Two sets of tests:

- *stand-alone*: each explorer is made here, written to a temporary file and opened from
  file:// (no book build needed); the numbers on the page are compared with
  `cnncourse.filters`, `cnncourse.arithmetic`, `cnncourse.nn` and a Keras model, all computed
  in the test;
- *built site*: the chapters that show an explorer, read from the built book in _build/html
  (like test_book_site.py; CNNCOURSE_BOOK_HTML points them at another build): every explorer
  starts, ids are unique, no script error, no request to another host, and the numbers shown
  agree with the package.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urljoin, urlparse

import numpy as np
import pytest

from cnncourse import arithmetic, filters
from cnncourse.data import load_sample_photo
from cnncourse.viz.explorers import (
    arithmetic_explorer,
    image_kernel_explorer,
    receptive_field_explorer,
)
from cnncourse.viz.receptive_field import traced_units
from tests.axe import AXE_TAGS, axe_source
from tests.book_pages import PAGES, QuietHandler, source_of

pytestmark = pytest.mark.book

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("CNNCOURSE_BOOK_HTML", ROOT / "_build" / "html"))
PHONE = {"width": 390, "height": 844}
PHOTO_FACTOR = 8


# --- what the explorers should show, computed here -----------------------------------------

@functools.cache
def sample_photo_as_shown() -> np.ndarray:
    """The sample photo as the explorer documents it: 8x8 block means rounded to k / 255."""
    photo = load_sample_photo(gray=True).astype(np.float64)
    H, W = photo.shape[0] // PHOTO_FACTOR, photo.shape[1] // PHOTO_FACTOR
    blocks = photo[:H * PHOTO_FACTOR, :W * PHOTO_FACTOR].reshape(H, 8, W, 8)
    return np.round(blocks.mean(axis=(1, 3)) * 255) / 255


def inputs_no_tap_reads(n: int, k: int, s: int, d: int, before: int, size: int) -> list[int]:
    """Input indices (0..n-1) that no kernel tap of any of the `size` windows multiplies."""
    read = {o * s + t * d - before for o in range(size) for t in range(k)}
    return [x for x in range(n) if x not in read]


def expected_direct(n: int, k: int, padding: object, s: int, d: int) -> dict | None:
    try:
        size = arithmetic.conv_output_size(n, k, stride=s, padding=padding, dilation=d)
    except ValueError:
        return None
    before, _ = arithmetic.padding_amounts(n, k, stride=s, padding=padding, dilation=d)
    return {"size": size,
            "uncovered": arithmetic.uncovered_inputs(n, k, stride=s, padding=padding, dilation=d),
            "unread": inputs_no_tap_reads(n, k, s, d, before, size)}


def expected_transposed(n: int, k: int, padding: object, s: int) -> int | None:
    if isinstance(padding, int) and padding > k - 1:
        return None  # drawn as a convolution with k - 1 - p < 0 zeros: not drawable
    try:
        return arithmetic.conv_transpose_output_size(n, k, stride=s, padding=padding)
    except ValueError:
        return None


# --- browser --------------------------------------------------------------------------------

# The browser (fixture `browser`) is the session's one Chromium, from conftest.py.


class Visit:
    """One page in a fresh context: script errors and requests that left the machine."""

    def __init__(self, browser: object, url: str, *, allowed: Callable[[str], bool],
                 **context_options: object) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.context = browser.new_context(**context_options)
        self.context.set_default_timeout(30_000)

        def route(request_route: object) -> None:
            if allowed(request_route.request.url):
                request_route.continue_()
            else:
                self.outside.append(request_route.request.url)
                request_route.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("response",
                     lambda r: self.failed.append(r.url) if r.status >= 400 else None)
        self.page.goto(url, wait_until="load")

    def close(self) -> None:
        self.context.close()

    def assert_clean(self) -> None:
        assert not self.errors, f"JavaScript errors: {self.errors}"
        assert not self.outside, f"requests to another host: {self.outside}"
        assert not self.failed, f"local requests that failed: {self.failed}"


def is_local_file(url: str) -> bool:
    return url.startswith(("file://", "data:"))


@pytest.fixture
def open_explorer(browser: object, tmp_path: Path) -> Iterator[Callable[..., Visit]]:
    """open_explorer(explorer_or_html, **context options) -> Visit of it from file://."""
    visits: list[Visit] = []

    def opener(explorer: object, **options: object) -> Visit:
        path = tmp_path / f"page{len(visits)}.html"
        if isinstance(explorer, str):
            path.write_text(explorer, encoding="utf-8")
        else:
            explorer.save(path)
        visit = Visit(browser, path.as_uri(), allowed=is_local_file, **options)
        visits.append(visit)
        return visit

    yield opener
    for visit in visits:
        visit.close()


# Runs in the page: pick a kernel of the image-kernel explorer by name.
def choose_kernel(page: object, root: str, name: str) -> None:
    page.locator(f"{root} [data-role=kernel-menu]").select_option(label=name)


def hover_output_pixel(page: object, root: str, row: int, col: int, shape: tuple) -> dict:
    """Move the mouse over output pixel (row, col); returns the pixel and the sum shown."""
    box = page.locator(f"{root} canvas[data-role=output]").bounding_box()
    H, W = shape
    page.mouse.move(box["x"] + (col + 0.5) * box["width"] / W,
                    box["y"] + (row + 0.5) * box["height"] / H)
    pixel = page.locator(f"{root} [data-role=pixel]")
    return {"row": int(pixel.get_attribute("data-row")),
            "col": int(pixel.get_attribute("data-col")),
            "sum": float(page.locator(f"{root} [data-role=sum]").inner_text())}


def check_image_kernel_sums(page: object, root: str, image: np.ndarray,
                            kernels: list[str], pixels: list[tuple[int, int]]) -> None:
    for name in kernels:
        choose_kernel(page, root, name)
        expected = filters.apply_filter(image, filters.KERNELS[name]())
        for row, col in pixels:
            shown = hover_output_pixel(page, root, row, col, image.shape)
            assert (shown["row"], shown["col"]) == (row, col), f"{name}: hovered the wrong pixel"
            assert shown["sum"] == pytest.approx(expected[row, col], abs=0.0005 + 1e-9), (
                f"{name} at ({row}, {col}): page shows {shown['sum']}, "
                f"apply_filter gives {expected[row, col]:.6f}")


# --- stand-alone explorers (file://) --------------------------------------------------------

def test_image_kernel_hover_shows_apply_filter(open_explorer: Callable[..., Visit]) -> None:
    visit = open_explorer(image_kernel_explorer())
    image = sample_photo_as_shown()
    H, W = image.shape
    check_image_kernel_sums(visit.page, ".cnnx", image, list(filters.KERNELS),
                            [(0, 0), (H // 2, W // 2), (H - 1, W - 1), (11, W - 2), (H - 3, 5)])
    visit.assert_clean()


def test_image_kernel_edited_weight_changes_the_output(
        open_explorer: Callable[..., Visit]) -> None:
    rng = np.random.default_rng(0)
    image = np.round(rng.uniform(size=(12, 16)) * 255) / 255
    visit = open_explorer(image_kernel_explorer(image, factor=1, selected="box blur"))
    page = visit.page
    before_pixels = page.locator("canvas[data-role=output]").evaluate("c => c.toDataURL()")
    weight = page.locator("[data-role=weight][data-row='1'][data-col='2']")
    weight.fill("-2.5")
    kernel = filters.box_blur()
    kernel[1, 2] = -2.5
    expected = filters.apply_filter(image, kernel)
    after_pixels = page.locator("canvas[data-role=output]").evaluate("c => c.toDataURL()")
    assert after_pixels != before_pixels, "editing a weight did not redraw the output"
    for row, col in [(0, 0), (5, 7), (11, 15), (6, 14)]:
        shown = hover_output_pixel(page, ".cnnx", row, col, image.shape)
        assert shown["sum"] == pytest.approx(expected[row, col], abs=0.0005 + 1e-9)
    weight.fill("")  # an empty box is refused, the last valid weight stays
    assert weight.get_attribute("aria-invalid") == "true"
    assert hover_output_pixel(page, ".cnnx", 5, 7, image.shape)["sum"] == pytest.approx(
        expected[5, 7], abs=0.0005 + 1e-9)
    visit.assert_clean()


def test_image_kernel_by_keyboard(open_explorer: Callable[..., Visit]) -> None:
    image = np.linspace(0, 1, 9 * 10).reshape(9, 10)
    visit = open_explorer(image_kernel_explorer(image, factor=1, selected="laplacian"))
    page = visit.page
    page.locator("canvas[data-role=output]").focus()
    start = page.locator("[data-role=pixel]")
    row, col = int(start.get_attribute("data-row")), int(start.get_attribute("data-col"))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    pixel = page.locator("[data-role=pixel]")
    assert (int(pixel.get_attribute("data-row")), int(pixel.get_attribute("data-col"))) == (
        row + 2, col + 1)
    expected = filters.apply_filter(np.round(image * 255) / 255, filters.laplacian())
    assert float(page.locator("[data-role=sum]").inner_text()) == pytest.approx(
        expected[row + 2, col + 1], abs=0.0005 + 1e-9)
    visit.assert_clean()


# Runs in the page: the colour of output pixel (row, col) of the image-kernel explorer.
OUTPUT_PIXEL_JS = """
([row, col, rows, cols]) => {
  const canvas = document.querySelector('canvas[data-role=output]');
  const x = Math.floor((col + 0.5) * canvas.width / cols);
  const y = Math.floor((row + 0.5) * canvas.height / rows);
  return Array.from(canvas.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3));
}
"""


def test_image_kernel_draws_what_each_kernel_makes(open_explorer: Callable[..., Visit]) -> None:
    """Kernels summing to 1 (identity, blurs) give an image, drawn in grey levels; edge kernels
    give signed responses, drawn red and blue. The weight boxes show 1/9, not a clipped 0.11."""
    image = np.linspace(0.1, 0.9, 9 * 10).reshape(9, 10)
    visit = open_explorer(image_kernel_explorer(image, factor=1, selected="identity"))
    page = visit.page
    shown = np.round(image * 255) / 255
    for row, col in [(4, 5), (0, 0), (8, 9)]:
        assert page.evaluate(OUTPUT_PIXEL_JS, [row, col, 9, 10]) == [
            round(shown[row, col] * 255)] * 3, "identity should copy the image, in grey"
    choose_kernel(page, ".cnnx", "box blur")
    red, green, blue = page.evaluate(OUTPUT_PIXEL_JS, [4, 5, 9, 10])
    assert red == green == blue, "a blur's output is an image: grey, not a signed colour"
    weights = page.locator("[data-role=weight]")
    assert weights.first.input_value() == "1/9"
    clipped = weights.evaluate_all("boxes => boxes.filter(b => b.scrollWidth > b.clientWidth)"
                                   ".map(b => b.value)")
    assert not clipped, f"weight boxes too narrow for their text: {clipped}"
    choose_kernel(page, ".cnnx", "sobel x")
    red, green, blue = page.evaluate(OUTPUT_PIXEL_JS, [4, 5, 9, 10])
    assert red > blue, "sobel x on a left-to-right ramp is positive: drawn red"
    assert "red positive" in page.locator("[data-role=output-caption]").inner_text()
    visit.assert_clean()


# Runs in the page: sets the arithmetic explorer's controls for each setting and reads back
# what it shows. settings: [{input, kernel, padding, stride, dilation, transposed}].
ARITHMETIC_JS = """
(settings) => {
  const app = document.querySelector('.cnnx-arithmetic .cnnx-app');
  const q = role => app.querySelector(`[data-role="${role}"]`);
  const fire = (node, type, value) => { node.value = String(value);
    node.dispatchEvent(new Event(type, {bubbles: true})); };
  return settings.map(s => {
    const box = q('transposed');
    if (box.checked !== s.transposed) box.click();
    fire(q('padding'), 'change', s.padding);
    fire(q('input-size'), 'input', s.input);
    fire(q('kernel-size'), 'input', s.kernel);
    fire(q('stride'), 'input', s.stride);
    if (!s.transposed) fire(q('dilation'), 'input', s.dilation);
    const size = q('output-size'), uncovered = q('uncovered-count'), unread = q('unread');
    return {refused: q('refused') !== null, formula: q('formula').textContent,
            size: size ? Number(size.textContent) : null,
            uncovered: uncovered ? Number(uncovered.textContent) : null,
            unread: unread ? unread.getAttribute('data-unread') : null};
  });
}
"""


def arithmetic_grid(transposed: bool, inputs: tuple[int, ...]) -> list[dict]:
    paddings = ["valid", "same", 0, 1, 2, 3] + ([] if transposed else ["full"])
    return [{"input": n, "kernel": k, "padding": str(p), "stride": s, "dilation": d,
             "transposed": transposed}
            for n in inputs for k in (1, 2, 3, 4, 5) for p in paddings
            for s in (1, 2, 3) for d in ((1,) if transposed else (1, 2, 3))]


def as_padding(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def check_arithmetic(page: object, transposed: bool,
                     inputs: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 10)) -> None:
    settings = arithmetic_grid(transposed, inputs)
    shown = page.evaluate(ARITHMETIC_JS, settings)
    problems = []
    for setting, seen in zip(settings, shown, strict=True):
        n, k, p = setting["input"], setting["kernel"], as_padding(setting["padding"])
        s, d = setting["stride"], setting["dilation"]
        if transposed:
            size = expected_transposed(n, k, p, s)
            got = None if seen["refused"] else seen["size"]
            if got != size:
                problems.append(f"{setting}: shows {got}, package {size}")
            continue
        want = expected_direct(n, k, p, s, d)
        if want is None:
            if not seen["refused"]:
                problems.append(f"{setting}: package refuses it, page shows {seen}")
            continue
        got = {"size": seen["size"], "uncovered": seen["uncovered"],
               "unread": [int(x) for x in seen["unread"].split(",") if x]}
        if got != want:
            problems.append(f"{setting}: page {got}, expected {want}")
        elif f"= {want['size']}" not in seen["formula"]:
            problems.append(f"{setting}: formula {seen['formula']!r} lacks '= {want['size']}'")
    assert not problems, f"{len(problems)} of {len(settings)} settings differ:\n" + "\n".join(
        problems[:20])


def test_arithmetic_sizes_equal_the_package(open_explorer: Callable[..., Visit]) -> None:
    visit = open_explorer(arithmetic_explorer())
    check_arithmetic(visit.page, transposed=False)
    check_arithmetic(visit.page, transposed=True)
    visit.assert_clean()


def test_arithmetic_output_cell_by_keyboard(open_explorer: Callable[..., Visit]) -> None:
    visit = open_explorer(arithmetic_explorer(input_size=6, kernel_size=3, padding=0,
                                              stride=1))
    page = visit.page
    page.locator("[data-role=stride]").focus()
    page.keyboard.press("ArrowRight")  # a slider moves with the arrow keys: stride 2
    assert page.locator("[data-role=output-size]").inner_text() == str(
        arithmetic.conv_output_size(6, 3, stride=2))
    page.locator("canvas[data-role=output-grid]").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert "Selected output cell: (1, 1)" in page.locator(".cnnx-app").inner_text()
    visit.assert_clean()


def test_arithmetic_says_how_many_inputs_no_tap_reads(
        open_explorer: Callable[..., Visit]) -> None:
    """i=7, k=3, s=3: one input (index 6) is never read; the page said "6", an index as a count.
    The drawing's caption follows the mode: transposed, it shows zeros inserted between inputs."""
    visit = open_explorer(arithmetic_explorer(input_size=7, kernel_size=3, padding=0, stride=3))
    page = visit.page
    unread = page.locator("[data-role=unread]")
    assert unread.get_attribute("data-unread") == "6"
    assert unread.inner_text().strip() == "1 (input 6)", unread.inner_text()
    caption = page.locator("[data-role=input-caption]")
    direct_caption = caption.inner_text()
    page.locator("[data-role=transposed]").check()
    transposed_caption = caption.inner_text()
    assert transposed_caption != direct_caption, "the caption did not change in transposed mode"
    assert "inserted" in transposed_caption, transposed_caption
    visit.assert_clean()


# Runs in the page: replace the receptive-field explorer's stack by `layers` through its own
# buttons and boxes, select the middle unit of the top layer, read the table and the trace.
RECEPTIVE_FIELD_JS = """
({layers, input}) => {
  const app = document.querySelector('.cnnx-receptive-field .cnnx-app');
  const rows = () => app.querySelectorAll('[data-role=layer-row]');
  while (rows().length > 1) rows()[rows().length - 1].querySelector('[data-role=remove]').click();
  for (let i = 1; i < layers.length; i++) {
    app.querySelector(layers[i].kind === 'pool' ? '[data-role=add-pool]'
                                                : '[data-role=add-conv]').click();
  }
  const slider = app.querySelector('[data-role=input-size]');
  slider.value = String(input);
  slider.dispatchEvent(new Event('input', {bubbles: true}));
  layers.forEach((layer, i) => {
    for (const name of ['kind', 'kernel', 'stride', 'dilation']) {
      const box = rows()[i].querySelector(`[data-col=${name}]`);
      if (box.disabled) continue;
      box.value = String(layer[name]);
      box.dispatchEvent(new Event('change', {bubbles: true}));
    }
  });
  const table = Array.from(rows()).map(row => ({
    output: row.querySelector('[data-col=output]').textContent,
    size: Number(row.querySelector('[data-col=size]').textContent),
    jump: Number(row.querySelector('[data-col=jump]').textContent)}));
  const seen = app.querySelector('[data-role=seen]');
  return {table: table, seen: seen && seen.getAttribute('data-seen'),
          unit: seen && Number(seen.getAttribute('data-unit')),
          level: seen && Number(seen.getAttribute('data-level'))};
}
"""

STACKS = [  # (layers as (kind, kernel, stride, dilation), input size)
    ([("conv", 3, 1, 1), ("conv", 3, 1, 1)], 9),
    ([("conv", 3, 1, 1), ("conv", 3, 1, 2), ("conv", 3, 1, 4)], 20),
    ([("conv", 5, 2, 1), ("pool", 2, 2, 1), ("conv", 3, 1, 1), ("conv", 3, 2, 1)], 40),
    ([("conv", 7, 2, 1), ("conv", 3, 2, 2), ("pool", 3, 3, 1)], 64),
    ([("conv", 3, 1, 1), ("pool", 2, 2, 1), ("conv", 3, 1, 1), ("pool", 2, 2, 1),
      ("conv", 3, 1, 1)], 30),
]


def check_receptive_field(page: object, layers: list[tuple], input_size: int) -> None:
    as_js = [{"kind": kind, "kernel": k, "stride": s, "dilation": d}
             for kind, k, s, d in layers]
    shown = page.evaluate(RECEPTIVE_FIELD_JS, {"layers": as_js, "input": input_size})
    plain = [(k, s, d) for _, k, s, d in layers]
    table = arithmetic.receptive_field_table(plain)
    n, outputs = input_size, []
    for k, s, d in plain:
        n = arithmetic.conv_output_size(n, k, stride=s, dilation=d)
        outputs.append(n)
    expected = [{"output": str(o), "size": row.size, "jump": row.jump}
                for o, row in zip(outputs, table, strict=True)]
    assert shown["table"] == expected, f"{layers}: page {shown['table']}, package {expected}"
    assert shown["level"] == len(layers)
    assert shown["unit"] == (outputs[-1] - 1) // 2
    traced = sorted(traced_units(table, shown["unit"])[0])
    assert [int(x) for x in shown["seen"].split(",")] == traced
    assert traced[-1] - traced[0] + 1 == arithmetic.receptive_field(plain)


def test_receptive_fields_equal_the_package(open_explorer: Callable[..., Visit]) -> None:
    visit = open_explorer(receptive_field_explorer())
    for layers, input_size in STACKS:
        check_receptive_field(visit.page, layers, input_size)
    visit.assert_clean()


def test_receptive_field_refuses_a_stack_larger_than_its_input(
        open_explorer: Callable[..., Visit]) -> None:
    visit = open_explorer(receptive_field_explorer([(3, 1)], input_size=5))
    page = visit.page
    for _ in range(2):
        page.locator("[data-role=add-conv]").click()  # 5 -> 3 -> 1 -> kernel 3 > input 1
    assert "larger than its input (1)" in page.locator("[data-role=error]").inner_text()
    page.locator("[data-role=remove]").last.click()
    assert page.locator("[data-role=error]").count() == 0
    visit.assert_clean()


# Runs in the page: where the keyboard focus is (the layer row and column of a box, or the tag).
FOCUS_JS = """
() => {
  const box = document.activeElement;
  const row = box && box.closest('[data-role=layer-row]');
  return {tag: box ? box.tagName : null, column: box && box.getAttribute('data-col'),
          row: row ? Number(row.getAttribute('data-index')) : null};
}
"""


def test_receptive_field_keeps_the_focus_while_editing(
        open_explorer: Callable[..., Visit]) -> None:
    """Type a value, Tab to the next box, type, Enter: the focus stays where the reader is."""
    visit = open_explorer(receptive_field_explorer([(3, 1), (3, 1)], input_size=20))
    page = visit.page
    page.locator("[data-role=layer-row][data-index='1'] [data-col=kernel]").focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("5")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUS_JS) == {"tag": "INPUT", "column": "stride", "row": 1}, (
        "after editing a kernel size and Tab, the focus should be on the stride of that layer")
    assert page.locator("[data-role=layer-row][data-index='1'] [data-col=size]").inner_text() == (
        str(arithmetic.receptive_field([(3, 1), (5, 1)])))
    page.keyboard.press("Control+a")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    assert page.evaluate(FOCUS_JS) == {"tag": "INPUT", "column": "stride", "row": 1}, (
        "after Enter the focus should stay on the box just edited")
    assert page.locator("[data-role=layer-row][data-index='1'] [data-col=jump]").inner_text() == "2"
    page.locator("[data-role=layer-row][data-index='1'] [data-role=remove]").click()
    assert page.evaluate(FOCUS_JS)["tag"] == "BUTTON", "removing a layer dropped the focus"
    visit.assert_clean()


@pytest.mark.keras
def test_lenet_probabilities_equal_keras(open_explorer: Callable[..., Visit]) -> None:
    import keras

    from cnncourse import data, models, nn
    from cnncourse.viz.explorers import lenet_explorer

    keras.utils.set_random_seed(1)
    mnist = data.load_mnist("sample")
    pad = ((0, 0), (2, 2), (2, 2), (0, 0))
    model = models.lenet5(variant="modern")  # seeded weights: distinct probabilities
    images, labels = np.pad(mnist.x_test[:4], pad), mnist.y_test[:4]
    expected = model.predict(images, verbose=0)
    c1 = np.maximum(nn.conv2d_forward(images.astype(np.float64),
                                      *model.get_layer("C1").get_weights())[0], 0)

    visit = open_explorer(lenet_explorer(model, images, labels))
    page = visit.page
    for n in range(len(images)):
        page.locator(f"[data-role=digit][data-index='{n}']").click()
        shown = [float(t) for t in page.locator("[data-role=prob]").all_inner_texts()]
        # shown with 4 decimals of the 6 the page stores
        np.testing.assert_allclose(shown, expected[n], atol=5e-5 + 1e-6,
                                   err_msg=f"digit {n}: probabilities shown vs Keras")
        page.locator("canvas[data-level='1']").focus()
        page.keyboard.press("ArrowRight")  # the selection stays when the digit changes
        col = 15 + n  # C1's centre unit is selected first, (14, 14)
        text = page.locator("[data-role=unit]").inner_text()
        assert f"C1, map 0, row 14, column {col}:" in text
        value = float(page.locator("[data-role=unit-value]").inner_text())
        step = (c1[n].max() - c1[n].min()) / 255  # the page keeps 8 bits per layer
        assert value == pytest.approx(c1[n, 14, col, 0], abs=step / 2 + 0.0005 + 1e-6)
    page.locator("canvas[data-level='3']").focus()
    page.keyboard.press("ArrowRight")  # a C3 unit: one window/kernel pair per S2 map
    assert page.locator("[data-role=kernel] canvas").count() == 2 * 6
    visit.assert_clean()


def test_two_explorers_on_one_page_both_start(open_explorer: Callable[..., Visit]) -> None:
    first, second = arithmetic_explorer(), arithmetic_explorer(stride=1)
    assert first.element_id != second.element_id
    visit = open_explorer(first.standalone_page().replace("</body>", second.html + "</body>"))
    roots = visit.page.locator(".cnnx")
    assert roots.count() == 2
    assert visit.page.locator(".cnnx.cnnx-live").count() == 2, "an explorer did not start"
    sizes = visit.page.locator("[data-role=output-size]").all_inner_texts()
    assert sizes == [str(arithmetic.conv_output_size(5, 3, stride=s, padding=1)) for s in (2, 1)]
    visit.assert_clean()


# Runs in the page: axe-core's WCAG 2.1 A/AA violations of the explorer (experimental rules of
# those levels included, as in test_book_site.py).
AXE_EXPLORER_JS = """
async (tags) => {
  const experimental = Object.fromEntries(axe.getRules(tags)
      .filter(rule => rule.tags.includes('experimental'))
      .map(rule => [rule.ruleId, {enabled: true}]));
  const result = await axe.run(document.querySelector('.cnnx'),
      {runOnly: {type: 'tag', values: tags}, rules: experimental, resultTypes: ['violations']});
  return result.violations.map(v => `${v.id}: ` + v.nodes.slice(0, 3).map(
      n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ')).join('; '));
}
"""


@pytest.mark.parametrize("make", [image_kernel_explorer, arithmetic_explorer,
                                  receptive_field_explorer])
def test_explorer_passes_axe(open_explorer: Callable[..., Visit], make: Callable) -> None:
    visit = open_explorer(make())
    visit.page.add_script_tag(content=axe_source())
    violations = visit.page.evaluate(AXE_EXPLORER_JS, AXE_TAGS)
    assert not violations, f"{make.__name__}: axe-core violations:\n" + "\n".join(violations)
    visit.assert_clean()


@pytest.mark.parametrize("make", [image_kernel_explorer, arithmetic_explorer,
                                  receptive_field_explorer])
def test_fallback_picture_without_javascript(open_explorer: Callable[..., Visit],
                                             make: Callable) -> None:
    visit = open_explorer(make(), java_script_enabled=False)
    fallback = visit.page.locator(".cnnx-fallback")
    assert fallback.is_visible()
    assert fallback.evaluate("img => img.complete && img.naturalWidth > 0")
    assert visit.page.locator(".cnnx-app").count() == 0


@pytest.mark.parametrize("make", [image_kernel_explorer, arithmetic_explorer,
                                  receptive_field_explorer])
def test_fits_a_phone(open_explorer: Callable[..., Visit], make: Callable) -> None:
    visit = open_explorer(make(), viewport=PHONE, is_mobile=True, has_touch=True)
    page = visit.page
    assert page.locator(".cnnx.cnnx-live .cnnx-app").count() == 1, "the explorer did not start"
    assert page.locator(".cnnx-fallback").count() == 0, "the static picture is still there"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"
    visit.assert_clean()


def test_image_kernel_by_tap_on_a_phone(open_explorer: Callable[..., Visit]) -> None:
    image = sample_photo_as_shown()
    visit = open_explorer(image_kernel_explorer(), viewport=PHONE, is_mobile=True,
                          has_touch=True)
    page = visit.page
    box = page.locator("canvas[data-role=output]").bounding_box()
    H, W = image.shape
    page.touchscreen.tap(box["x"] + 20.5 * box["width"] / W, box["y"] + 30.5 * box["height"] / H)
    pixel = page.locator("[data-role=pixel]")
    assert (pixel.get_attribute("data-row"), pixel.get_attribute("data-col")) == ("30", "20")
    visit.assert_clean()


# --- the built book -------------------------------------------------------------------------

# Built page -> its MyST source, for the pages of _toc.yml whose code makes an explorer.
EXPLORER_PAGES = {page: source_of(page) for page in PAGES if "_explorer(" in source_of(page)}


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    if not (HTML / "index.html").exists() and not any((HTML / p).exists()
                                                        for p in EXPLORER_PAGES):
        pytest.fail(f"The book is not built in {HTML}. Run `python3 tasks.py book` first "
                    "(or set CNNCOURSE_BOOK_HTML to a build).")
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def open_chapter(browser: object, site_url: str) -> Iterator[Callable[[str], Visit]]:
    visits: list[Visit] = []

    def opener(page: str) -> Visit:
        if not (HTML / page).exists():
            pytest.fail(f"{HTML / page} is missing from the built book")
        visit = Visit(browser, urljoin(site_url, page),
                      allowed=lambda url: urlparse(url).hostname == "127.0.0.1"
                      or is_local_file(url))
        visits.append(visit)
        return visit

    yield opener
    for visit in visits:
        visit.close()


def pages_with(function: str) -> list[str]:
    return [page for page, source in EXPLORER_PAGES.items() if f"{function}(" in source]


def test_the_book_shows_each_explorer() -> None:
    for function in ("image_kernel_explorer", "arithmetic_explorer",
                     "receptive_field_explorer", "lenet_explorer"):
        assert pages_with(function), f"no chapter of _toc.yml calls {function}"


@pytest.mark.parametrize("page", sorted(EXPLORER_PAGES))
def test_explorers_start_in_the_built_page(open_chapter: Callable[[str], Visit],
                                          page: str) -> None:
    visit = open_chapter(page)
    roots = visit.page.locator("div.cnnx")
    ids = roots.evaluate_all("nodes => nodes.map(n => n.id)")
    assert ids, f"{page}: the chapter calls an explorer but the page has none"
    all_ids = visit.page.evaluate(
        "Array.from(document.querySelectorAll('[id]')).map(n => n.id)")
    ours = visit.page.evaluate(
        "Array.from(document.querySelectorAll('div.cnnx, div.cnnx [id]')).map(n => n.id)")
    duplicated = sorted({i for i in ours if all_ids.count(i) > 1})
    assert not duplicated, f"{page}: explorer ids used twice on the page: {duplicated}"
    started = visit.page.locator("div.cnnx.cnnx-live").count()
    assert started == len(ids), f"{page}: {len(ids) - started} explorer(s) did not start"
    visit.assert_clean()


@pytest.mark.parametrize("page", pages_with("image_kernel_explorer"))
def test_built_image_kernel_explorer(open_chapter: Callable[[str], Visit], page: str) -> None:
    visit = open_chapter(page)
    image = sample_photo_as_shown()
    H, W = image.shape
    visit.page.locator(".cnnx-image-kernel canvas[data-role=output]").scroll_into_view_if_needed()
    check_image_kernel_sums(visit.page, ".cnnx-image-kernel", image,
                            ["sobel x", "laplacian", "gaussian blur", "sharpen"],
                            [(H // 3, W // 2), (H - 1, 0)])
    visit.assert_clean()


@pytest.mark.parametrize("page", pages_with("arithmetic_explorer"))
def test_built_arithmetic_explorer(open_chapter: Callable[[str], Visit], page: str) -> None:
    visit = open_chapter(page)
    check_arithmetic(visit.page, transposed=False, inputs=(4, 7))
    check_arithmetic(visit.page, transposed=True, inputs=(3,))
    visit.assert_clean()


@pytest.mark.parametrize("page", pages_with("receptive_field_explorer"))
def test_built_receptive_field_explorer(open_chapter: Callable[[str], Visit], page: str) -> None:
    visit = open_chapter(page)
    for layers, input_size in STACKS[1:3]:
        check_receptive_field(visit.page, layers, input_size)
    visit.assert_clean()


@pytest.mark.parametrize("page", pages_with("lenet_explorer"))
def test_built_lenet_explorer(open_chapter: Callable[[str], Visit], page: str) -> None:
    """The chapter's model is trained at build time, so its predictions cannot be recomputed
    here (test_lenet_probabilities_equal_keras compares them with Keras); each digit's ten
    probabilities must still form a distribution, and the verdict must name the largest."""
    visit = open_chapter(page)
    root = visit.page.locator(".cnnx-lenet")
    digits = root.locator("[data-role=digit]")
    assert digits.count() >= 3, "the chapter shows fewer than three digits"
    for n in range(digits.count()):
        digits.nth(n).click()
        shown = [float(t) for t in root.locator("[data-role=prob]").all_inner_texts()]
        assert len(shown) == 10 and min(shown) >= 0
        assert sum(shown) == pytest.approx(1.0, abs=10 * 5e-5)
        verdict = root.locator("[data-role=verdict]").get_attribute("data-predicted")
        assert int(verdict) == int(np.argmax(shown))
    visit.assert_clean()
