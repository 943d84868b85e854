"""Reference package of the CNN course."""
