"""Typed errors for run folders."""


class RunFolderError(ValueError):
    """A run-folder file is missing, truncated or inconsistent (the message names the file)."""
