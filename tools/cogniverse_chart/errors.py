"""Exceptions shared by the toolkit. The CLI turns them into one clear line and exit 2."""


class ToolkitError(Exception):
    """Bad input to the toolkit itself (missing file, bad YAML, unknown profile, no helm)."""


class HelmError(ToolkitError):
    """`helm` ran and failed; the message carries helm's own stderr. `chart`: the chart `helm template`
    rendered, whose template files Helm's message names (for the file and line of a CI report)."""

    def __init__(self, message: str, chart: str | None = None) -> None:
        super().__init__(message)
        self.chart = chart
