"""Toolkit for the Cogniverse Helm chart: render, validate, lint, generate, submit.

Data flows one way: values -> render (helm template) -> documents -> checks -> report.
"""

from pathlib import Path

#: Data files shipped inside the package (schema bundles, versions.env): all the toolkit reads at run
#: time besides what the user names (the chart, values, manifests, a config file).
DATA_DIR = Path(__file__).resolve().parent / "data"

#: The source checkout this module was imported from (tools/cogniverse_chart/__init__.py -> ../..), used
#: only by the maintainer tools that build from its sources (tools/cogniverse_dev: gobuild, the lint oracle,
#: the guide runner)
#: and as the library's default chart in tests. An installed wheel never reads it: the commands work
#: on the chart in front of them (cogniverse_chart.config).
REPO_ROOT = Path(__file__).resolve().parents[2]
IN_CHECKOUT = (REPO_ROOT / "tools" / "cogniverse_chart" / "__init__.py").resolve() == Path(__file__).resolve()
CHART_DIR = REPO_ROOT / "charts" / "cogniverse"
PROFILES_DIR = REPO_ROOT / "values"
#: The arguments of the command being run (set by cli.main; SARIF records them as its invocation). Kept here,
#: not in cli: `python -m cogniverse_chart.cli` runs cli as __main__, a module of its own.
ARGV: list[str] = []


def __getattr__(name: str) -> str:
    """`__version__`, from the installed distribution (pyproject.toml's version), looked up only when asked
    for: importlib.metadata costs start-up time every command would pay."""
    if name == "__version__":
        from importlib import metadata

        try:
            return metadata.version("cogniverse-chart")
        except metadata.PackageNotFoundError:  # imported from a source tree without an install
            return "0.0.0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
