"""Reference package of the CNN course.

Importing it imports nothing else: labs 1 to 3 run on the base install (numpy, matplotlib).
"""

from importlib import metadata

try:
    __version__ = metadata.version("cnncourse")
except metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
