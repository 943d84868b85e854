"""Book tables: one header row, the index's name in its corner."""

import pandas as pd
import pytest

from cnncourse.viz.tables import one_header_row


def header_rows(table: pd.DataFrame) -> list[list[str]]:
    thead = table.to_html().split("<thead>")[1].split("</thead>")[0]
    return [[cell.split(">")[1].split("<")[0] for cell in row.split("<th")[1:]]
            for row in thead.split("<tr")[1:]]


def test_index_name_sits_in_the_corner_of_the_only_header_row():
    table = pd.DataFrame({"where": ["a", "b"], "output": [2, 3]}).set_index("where")
    assert len(header_rows(table)) == 2  # what pandas does by itself: "where" on a row alone
    assert header_rows(one_header_row(table)) == [["where", "output"]]
    assert list(one_header_row(table).index) == ["a", "b"]


def test_a_multi_level_index_is_refused_by_name():
    table = pd.DataFrame({"a": [1], "b": [2], "c": [3]}).set_index(["a", "b"])
    with pytest.raises(ValueError, match="got 2 and 1"):
        one_header_row(table)
