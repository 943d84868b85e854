"""Tables of the book: pandas DataFrames shown with a single header row.

pandas writes the name of a DataFrame's index on a header row of its own, under the column
names ("where", "name", "model" alone on a second row). `one_header_row` moves that name into
the top-left corner of the column header, so a table reads as one header row, then one row per
index entry (still marked up as row headers).
"""

from __future__ import annotations

import pandas as pd


def one_header_row(table: pd.DataFrame) -> pd.DataFrame:
    """table with its index's name moved to the corner of the header row; a copy.

    Works for a single-level index and single-level columns, which is what the chapters print.
    """
    if table.index.nlevels != 1 or table.columns.nlevels != 1:
        raise ValueError(f"expected one index level and one column level, got "
                         f"{table.index.nlevels} and {table.columns.nlevels}")
    return table.rename_axis(index=None, columns=table.index.name)
