"""The iog_jupyter version, read by hatchling and shown by `GET status`."""

__version__ = "0.1.0"
