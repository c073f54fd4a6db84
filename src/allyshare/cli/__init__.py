"""The ``allyshare`` command-line interface."""
