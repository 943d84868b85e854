"""Output floods are capped: printed text and displays (a plot per batch) alike."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_output

from cnncourse.grading.run.worker import MAX_DISPLAYS, TRUNCATED, truncate_outputs


def test_a_flood_of_displays_is_cut_to_the_first_ones_and_says_so():
    cell = new_code_cell("for batch in range(500): plt.show()")
    cell.outputs = [new_output("display_data", data={"image/png": "iVBORw0KGgo=" * 1000})
                    for _ in range(500)]  # fmt: skip
    truncate_outputs(cell, max_chars=100_000)
    displays = [o for o in cell.outputs if o.output_type == "display_data"]
    assert len(displays) == MAX_DISPLAYS
    assert cell.outputs[-1].output_type == "stream" and TRUNCATED in cell.outputs[-1].text
    assert "480 more displays" in cell.outputs[-1].text


def test_a_few_displays_are_kept_as_they_are():
    cell = new_code_cell("plt.show()")
    cell.outputs = [new_output("display_data", data={"text/plain": "figure"}) for _ in range(3)]
    truncate_outputs(cell, max_chars=100_000)
    assert len(cell.outputs) == 3
