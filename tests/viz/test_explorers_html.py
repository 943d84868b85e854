"""cnncourse.viz.explorers on the Python side: the HTML each explorer makes, its size, its data
and the errors it raises. What the page shows is checked in Chromium (tests/book)."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from cnncourse import arithmetic
from cnncourse.viz.explorers import (
    SIZE_BUDGET_BYTES,
    Explorer,
    arithmetic_explorer,
    image_kernel_explorer,
    receptive_field_explorer,
)
from cnncourse.viz.explorers.arithmetic import (
    DILATIONS,
    KERNEL_SIZES,
    PADDINGS,
    STRIDES,
    TRANSPOSED_PADDINGS,
)
from cnncourse.viz.explorers.image_kernel import explorer_image
from cnncourse.viz.explorers.page import asset

SCRIPT_ASSETS = ["common.js", "image_kernel.js", "arithmetic.js", "receptive_field.js",
                 "lenet.js", "explorer.css"]


def page_data(explorer: Explorer) -> dict:
    """The JSON the explorer's script reads."""
    match = re.search(r'<script type="application/json" class="cnnx-data">(.*?)</script>',
                      explorer.html, flags=re.S)
    assert match, "no data element"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def explorers() -> list[Explorer]:
    return [image_kernel_explorer(), arithmetic_explorer(), receptive_field_explorer()]


def test_each_explorer_is_small_and_self_contained(explorers: list[Explorer]) -> None:
    for explorer in explorers:
        assert 5_000 < explorer.size_bytes < SIZE_BUDGET_BYTES, repr(explorer)
        assert explorer._repr_html_() == explorer.html
        outside = re.findall(r'(?:src|href)\s*=\s*["\'](?!data:|#)([^"\']*)', explorer.html)
        assert not outside, f"{explorer.kind} loads {outside}"
        assert "://" not in explorer.html.replace("http://www.w3.org", ""), explorer.kind
        assert explorer.html.count("<script") == 2  # its data and its code, nothing else
        assert f'id="{explorer.element_id}"' in explorer.html


def test_element_ids_differ_between_explorers() -> None:
    ids = {arithmetic_explorer().element_id for _ in range(3)}
    assert len(ids) == 3


def test_scripts_can_be_inlined() -> None:
    for name in SCRIPT_ASSETS:
        text = asset(name)
        assert len(text) > 500, name
        assert "</script" not in text.lower()


def test_data_cannot_close_its_script_element() -> None:
    explorer = image_kernel_explorer(np.zeros((4, 4)), factor=1, selected="x</script>",
                                     kernels={"x</script>": np.eye(3)})
    assert explorer.html.count("</script>") == 2
    assert page_data(explorer)["kernels"][0]["name"] == "x</script>"


def test_saved_page_is_a_whole_document(tmp_path) -> None:
    path = arithmetic_explorer().save(tmp_path / "a.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and 'name="viewport"' in text


def test_fallback_is_a_png() -> None:
    html = receptive_field_explorer().html
    picture = re.search(r'class="cnnx-fallback" alt="[^"]+" src="data:image/png;base64,([^"]+)"',
                        html)
    assert picture, "no fallback picture with alt text"
    assert base64.b64decode(picture.group(1))[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("shape", "factor", "expected"), [
    ((600, 512), 8, (75, 64)),
    ((17, 9), 4, (4, 2)),
    ((5, 5), 1, (5, 5)),
])
def test_explorer_image_shape(shape, factor, expected) -> None:
    assert explorer_image(np.full(shape, 0.5), factor).shape == expected


def test_explorer_image_is_block_means_on_8_bit_levels() -> None:
    image = np.array([[0.0, 0.2, 1.0, 1.0],
                      [0.4, 0.2, 1.0, 0.9],
                      [0.3, 0.3, 0.3, 0.3]])
    shown = explorer_image(image, 2)
    assert shown.shape == (1, 2)  # the third row is not a whole block
    np.testing.assert_allclose(shown * 255, [[51.0, 249.0]])  # 0.2 * 255, 0.975 * 255 rounded


@pytest.mark.parametrize(("image", "factor", "message"), [
    (np.zeros((4, 4, 3)), 1, "grayscale"),
    (np.full((4, 4), 2.0), 1, r"\[0, 1\]"),
    (np.full((4, 4), np.nan), 1, r"\[0, 1\]"),
    (np.zeros((4, 4)), 0, "factor"),
    (np.zeros((4, 4)), 5, "0x0"),
    (np.zeros((300, 10)), 1, "300x10"),
])
def test_explorer_image_refuses_bad_input(image, factor, message) -> None:
    with pytest.raises(ValueError, match=message):
        explorer_image(image, factor)


def test_image_kernel_explorer_refuses_bad_kernels() -> None:
    with pytest.raises(ValueError, match="even"):
        image_kernel_explorer(np.zeros((4, 4)), factor=1, kernels={"even": np.ones((2, 2))},
                              selected="even")
    with pytest.raises(ValueError, match="selected"):
        image_kernel_explorer(np.zeros((4, 4)), factor=1, selected="blur")


def test_image_kernel_explorer_stores_the_package_kernels() -> None:
    from cnncourse.filters import KERNELS

    data = page_data(image_kernel_explorer())
    assert [k["name"] for k in data["kernels"]] == list(KERNELS)
    for stored in data["kernels"]:
        np.testing.assert_array_equal(stored["weights"], KERNELS[stored["name"]]())
    assert (data["height"], data["width"]) == (75, 64)


def test_arithmetic_tables_hold_the_package_sizes() -> None:
    data = page_data(arithmetic_explorer())
    direct = np.frombuffer(base64.b64decode(data["direct"]), dtype=np.int8).reshape(
        10, len(KERNEL_SIZES), len(PADDINGS), len(STRIDES), len(DILATIONS), 4)
    n, k, p, s, d = 7, 3, "same", 2, 2
    entry = direct[n - 1, k - 1, PADDINGS.index(p), s - 1, d - 1]
    assert entry[0] == arithmetic.conv_output_size(n, k, stride=s, padding=p, dilation=d)
    assert tuple(entry[1:3]) == arithmetic.padding_amounts(n, k, stride=s, padding=p,
                                                           dilation=d)
    refused = direct[2 - 1, 5 - 1, PADDINGS.index("valid"), 0, 0]
    assert tuple(refused) == (-1, -1, -1, -1)  # kernel 5 on an input of 2
    transposed = np.frombuffer(base64.b64decode(data["transposed"]), dtype=np.int8).reshape(
        10, len(KERNEL_SIZES), len(TRANSPOSED_PADDINGS), len(STRIDES), 3)
    assert transposed[4 - 1, 3 - 1, TRANSPOSED_PADDINGS.index(1), 2 - 1, 0] == (
        arithmetic.conv_transpose_output_size(4, 3, stride=2, padding=1))


@pytest.mark.parametrize(("arguments", "message"), [
    ({"input_size": 11}, "input_size"),
    ({"kernel_size": 0}, "kernel_size"),
    ({"padding": "full", "transposed": True}, "padding"),
    ({"dilation": 2, "transposed": True}, "dilation"),
    ({"stride": True}, "stride"),
])
def test_arithmetic_explorer_refuses_settings_off_its_sliders(arguments, message) -> None:
    with pytest.raises(ValueError, match=message):
        arithmetic_explorer(**arguments)


def test_receptive_field_explorer_starts_from_the_package_table() -> None:
    layers = [(3, 1), (3, 1, 2), (2, 2)]
    data = page_data(receptive_field_explorer(layers))
    table = arithmetic.receptive_field_table(layers)
    assert [(row["size"], row["jump"]) for row in data["layers"]] == [
        (row.size, row.jump) for row in table]
    assert [row["kind"] for row in data["layers"]] == ["conv", "conv", "pool"]
    assert data["inputSize"] == table[-1].size + 2 * table[-1].jump


@pytest.mark.parametrize(("layers", "options", "message"), [
    ([], {}, "at least one"),
    ([(3, 1)] * 9, {}, "1 to 8"),
    ([(9, 1)], {}, "kernel <= 7"),
    ([(3, 1)], {"kinds": ["dense"]}, "kinds"),
    ([(3, 1, 2)], {"kinds": ["pool"]}, "1 for pooling"),
    ([(5, 1), (5, 1)], {"input_size": 6}, "larger than the padded input"),
    ([(3, 1)], {"input_size": 65}, "input_size"),
])
def test_receptive_field_explorer_refuses_bad_stacks(layers, options, message) -> None:
    with pytest.raises(ValueError, match=message):
        receptive_field_explorer(layers, **options)


@pytest.mark.keras
def test_lenet_explorer_data_and_errors() -> None:
    import keras

    from cnncourse import models
    from cnncourse.viz.explorers import lenet_explorer

    keras.utils.set_random_seed(0)
    model = models.lenet5(variant="modern")
    images = np.random.default_rng(0).uniform(size=(3, 32, 32, 1)).astype(np.float32)
    explorer = lenet_explorer(model, images, np.array([1, 2, 3]))
    assert explorer.size_bytes < SIZE_BUDGET_BYTES
    data = page_data(explorer)
    assert [level["name"] for level in data["levels"]] == [
        "input", "C1", "S2", "C3", "S4", "C5", "F6", "logits"]
    assert [level["kind"] for level in data["levels"]] == [
        "input", "conv", "pool", "conv", "pool", "conv", "dense", "dense"]
    assert data["levels"][3]["weightShape"] == [5, 5, 6, 16]
    np.testing.assert_allclose(data["probabilities"], model.predict(images, verbose=0),
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"\(N, 32, 32, 1\)"):
        lenet_explorer(model, images[:, :28, :28], np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="1 to 8 images"):
        lenet_explorer(model, np.zeros((9, 32, 32, 1)), np.zeros(9, dtype=int))
    with pytest.raises(ValueError, match="one per image"):
        lenet_explorer(model, images, np.array([1, 2]))
    with pytest.raises(ValueError, match="classes 0..9"):
        lenet_explorer(model, images, np.array([1, 2, 10]))
