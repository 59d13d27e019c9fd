"""Toolkit for the Cogniverse Helm chart: render, validate, lint, generate, submit.

Data flows one way: values -> render (helm template) -> documents -> checks -> report.
"""

from pathlib import Path

__version__ = "0.1.0"

#: Repository root when running from a checkout (tools/cogniverse_chart/__init__.py -> ../..).
REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "cogniverse"
PROFILES_DIR = REPO_ROOT / "values"
