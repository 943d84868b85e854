"""The colours the figures share, so that one idea keeps one colour from chapter to chapter."""

# Colours of Dumoulin & Visin's figures: blue input, navy kernel, cyan output.
INPUT_BLUE = "#5b9bd5"
KERNEL_NAVY = "#1f3b73"
OUTPUT_CYAN = "#8fe3ee"
CURRENT_TEAL = "#11808f"
PAD_GREY = "#8c8c8c"
# The window (pooling) or column (im2col, multi-channel) the reader should follow: it stands
# out on every shade of blue.
WINDOW_ORANGE = "#f28e2b"
