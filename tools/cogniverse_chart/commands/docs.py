"""`docs`: regenerate the README values table, values.yaml's key descriptions and docs/workflows-diagrams.md (or --check them)."""

from __future__ import annotations

import argparse
import json
import sys

from pathlib import Path

from .. import docs, safe_write

from ..errors import ToolkitError
from .stale import report as stale_report
from .options import add_chart_arg, chart_of, config_of


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("docs", help="generate the values table, values.yaml descriptions and workflow diagrams "
                                    "(--check: fail when stale)",
                       description="Rewrite the chart's README.md between its values-table markers (from "
                                   "values.schema.json and values.yaml), the `# --` description comments of "
                                   "values.yaml, and the workflow diagrams page the config names.")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when a generated file is stale")
    add_chart_arg(p)
    p.set_defaults(func=run)


def _root_of(path: Path, chart: Path, cfg_root: Path) -> Path:
    """The folder a docs file must stay inside: the chart for its README and values.yaml, else the config's folder."""
    return chart if path.parent == chart else cfg_root


def run(args: argparse.Namespace) -> int:
    chart = chart_of(args)
    cfg = config_of(args)
    if not cfg.get("docs", docs.has_markers(chart)):
        raise ToolkitError(f"{chart / 'README.md'}: no `{docs.START}` ... `{docs.END}` markers; add them where "
                           f"the values table goes")
    if docs.schema_is_empty(chart):  # D55: an empty table was written, values.yaml's keys never listed
        raise ToolkitError(f"{chart / 'values.schema.json'}: the schema has no properties, so the values table "
                           f"would be empty; describe the values there (type, description) first")
    files = docs.plan(chart, readme=chart / "README.md", diagrams=cfg.relpath("diagrams"))
    root = cfg.root if cfg.path else chart
    stale = [f for f in files if f.stale or safe_write.link_on_way(f.path, _root_of(f.path, chart, root))]
    if not args.check:
        for f in stale:
            safe_write.write_text(f.path, f.wanted, root=_root_of(f.path, chart, root))
    if args.check:
        code = stale_report(args, "docs", "generated/docs", [str(f.path) for f in stale],
                            "generated documentation is stale: run `cogniverse-chart docs`", len(files))
        if code is not None:
            return code
    # every JSON result has `command` and `ok` (docs/toolkit-ci.md; attack24c E46)
    result = {"command": "docs", "ok": not (args.check and stale),
              "checked": [str(f.path) for f in files], "stale": [str(f.path) for f in stale],
              "written": [] if args.check else [str(f.path) for f in stale]}
    if args.output == "json":
        print(json.dumps(result, indent=2))
    elif args.check:
        for f in stale:
            print(f"{f.path} is stale: run `cogniverse-chart docs`", file=sys.stderr)
        if not stale:
            print("docs are up to date")
    else:
        print("\n".join(f"wrote {f.path}" for f in stale) or "docs are up to date")
    return 1 if (args.check and stale) else 0
