"""One explorer as a self-contained piece of HTML: a picture, its data, its script and its style.

The HTML an explorer returns is a single <div> that carries everything it needs inline:

- a static PNG of the explorer's first state (`fallback`), shown until the script runs (which
  removes it), so a reader without JavaScript, or a notebook viewer that strips scripts, still
  sees a figure;
- the numbers the package computed, as JSON in <script type="application/json">;
- the shared helpers (`common.js`) and the explorer's own script (`<kind>.js`), read from this
  package's data files and inlined, and the stylesheet `explorer.css`.

Nothing is loaded from anywhere else, so the same HTML works in a notebook, in the built book,
and saved to a file opened from `file://`. Every explorer gets a unique element id, so a page
can hold several explorers, of one kind or of several.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

SIZE_BUDGET_BYTES = 300_000  # one explorer's share of a book page (issue 10)
FALLBACK_COLOURS = 64  # palette PNG: flat cells and a colour map stay readable, bytes stay few
_SERIAL = itertools.count()  # distinguishes two explorers with the same data on one page


@dataclass(frozen=True)
class Explorer:
    """An interactive explorer: `html` is one self-contained <div>; a notebook shows it.

    kind: 'image_kernel', 'arithmetic', 'receptive_field' or 'lenet'.
    element_id: the id of the explorer's root <div>, unique within a page.
    """

    kind: str
    element_id: str
    html: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<{self.kind} explorer #{self.element_id}, {self.size_bytes:,} bytes>"

    @property
    def size_bytes(self) -> int:
        """Bytes of the HTML, everything included (the payload a reader downloads)."""
        return len(self.html.encode("utf-8"))

    def standalone_page(self, title: str = "CNN course explorer") -> str:
        """A complete HTML document holding only this explorer (for a file or a browser test)."""
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title></head>\n<body>\n{self.html}\n</body></html>\n"
        )

    def save(self, path: str | Path, title: str = "CNN course explorer") -> Path:
        """Write `standalone_page()` to `path` (UTF-8); open it from file:// in any browser."""
        path = Path(path)
        path.write_text(self.standalone_page(title), encoding="utf-8")
        return path


def asset(name: str) -> str:
    """Text of one of this package's data files (a script or the stylesheet)."""
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    if "</script" in text.lower():
        raise ValueError(f"{name} contains '</script', which would end its inline <script>")
    return text


def png_bytes(figure_or_pixels: Figure | np.ndarray, *, dpi: float = 72) -> bytes:
    """PNG of a matplotlib Figure (at `dpi`) or of an RGB(A) uint8 array, as a palette image."""
    if isinstance(figure_or_pixels, Figure):
        buffer = io.BytesIO()
        figure_or_pixels.savefig(buffer, format="png", dpi=dpi)
        image = Image.open(io.BytesIO(buffer.getvalue()))
    else:
        image = Image.fromarray(np.asarray(figure_or_pixels, dtype=np.uint8))
    palette = image.convert("RGB").quantize(FALLBACK_COLOURS)
    out = io.BytesIO()
    palette.save(out, format="png", optimize=True)
    return out.getvalue()


def encode_bytes(values: np.ndarray) -> str:
    """int8 or uint8 array -> base64 text (the scripts decode it with `decodeBytes`)."""
    values = np.ascontiguousarray(values)
    if values.dtype not in (np.int8, np.uint8):
        raise ValueError(f"encode_bytes needs int8 or uint8 values, got dtype {values.dtype}")
    return base64.b64encode(values.tobytes()).decode("ascii")


def _json_for_script(data: dict[str, Any]) -> str:
    """JSON safe inside <script>: '<' escaped so no '</script>' can end the element early."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def build_explorer(kind: str, data: dict[str, Any], fallback_png: bytes, alt: str) -> Explorer:
    """Assemble the explorer's <div>: fallback picture, data, style and script, all inline.

    The script finds its root by id, builds the interactive view and removes the fallback; if it
    never runs, the fallback stays. Raises ValueError if the result exceeds SIZE_BUDGET_BYTES.
    """
    payload = _json_for_script(data)
    digest = hashlib.sha1(f"{kind}{payload}".encode()).hexdigest()[:8]
    element_id = f"cnnx-{kind.replace('_', '-')}-{digest}-{next(_SERIAL)}"
    picture = base64.b64encode(fallback_png).decode("ascii")
    script = (
        f"(function () {{\n\"use strict\";\n{asset('common.js')}\n{asset(kind + '.js')}\n"
        f"startExplorer({json.dumps(element_id)}, main);\n}})();"
    )
    markup = (
        f'<div class="cnnx cnnx-{kind.replace("_", "-")}" id="{element_id}">'
        f"<style>{asset('explorer.css')}</style>"
        f'<img class="cnnx-fallback" alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{picture}">'
        f'<p class="cnnx-fallback-note">Static picture: the interactive explorer needs '
        f"JavaScript.</p>"
        f'<script type="application/json" class="cnnx-data">{payload}</script>'
        f"<script>{script}</script></div>"
    )
    explorer = Explorer(kind, element_id, markup)
    if explorer.size_bytes > SIZE_BUDGET_BYTES:
        raise ValueError(f"{kind} explorer is {explorer.size_bytes:,} bytes, over the budget "
                         f"of {SIZE_BUDGET_BYTES:,}: show fewer images or smaller ones")
    return explorer


def signed_colour_table() -> str:
    """The red (positive) / blue (negative) map of `plot_kernels`, 256 RGB entries, base64.

    Entry 0 is the most negative value, 128 zero (white), 255 the most positive.
    """
    from matplotlib import colormaps

    rgba = colormaps["RdBu_r"](np.linspace(0.0, 1.0, 256))  # (256, 4) floats in [0, 1]
    return encode_bytes(np.round(rgba[:, :3] * 255).astype(np.uint8))
