"""Exceptions shared by the toolkit. The CLI turns them into one clear line and exit 2."""


class ToolkitError(Exception):
    """Bad input to the toolkit itself (missing file, bad YAML, unknown profile, no helm)."""


class HelmError(ToolkitError):
    """`helm` ran and failed; the message carries helm's own stderr."""
