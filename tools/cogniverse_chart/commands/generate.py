"""`generate`: write the guide-compatible workflows/*.yaml from the chart, or a Workflow from a template.

    cogniverse-chart generate                      # (re)write workflows/*.yaml and workflows/templates/
    cogniverse-chart generate --check              # exit 1 when the committed files drifted from the chart
    cogniverse-chart generate --from cronwf/daily-backup -p retention-days=3 [--profile k3s]
                                                   # a Workflow manifest on stdout, like argo submit --from
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from .. import CHART_DIR, generate
from ..argo import parse_pairs
from ..render import DEFAULT_KUBE_VERSION, render
from .render import request_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate workflows/*.yaml from the chart, or a Workflow from a template")
    p.add_argument("--out-dir", type=Path, default=generate.WORKFLOWS_DIR,
                   help="where the guide files go (default: workflows/ in the repository)")
    p.add_argument("--check", action="store_true", help="fail (exit 1) when the files differ from the chart")
    p.add_argument("--from", dest="source", metavar="KIND/NAME",
                   help="workflowtemplate/NAME or cronwf/NAME: print a Workflow for it instead")
    p.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                   help="workflow parameter for --from (like argo submit -p); repeatable")
    # The render options of `render`, except that -p means --parameter here (as in argo).
    p.add_argument("--profile", action="append", default=[], help="environment profile from values/ (for --from)")
    p.add_argument("--values", "-f", action="append", default=[], type=Path, help="values file (for --from)")
    p.add_argument("--set", action="append", default=[], dest="set_values", help="helm --set (for --from)")
    p.add_argument("--set-string", action="append", default=[], dest="set_string_values")
    p.add_argument("--kube-version", default=DEFAULT_KUBE_VERSION)
    p.add_argument("--api-versions", action="append", default=None)
    p.add_argument("--release", default="cogniverse")
    p.add_argument("--namespace", "-n", default="cogniverse")
    p.add_argument("--chart", type=Path, default=CHART_DIR)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.source:
        docs = render(request_from_args(args))
        wf = generate.workflow_from(docs, args.source, parse_pairs(args.parameter, "--parameter"))
        if args.output == "json":
            print(json.dumps(wf))
        else:
            print(yaml.safe_dump(wf, sort_keys=False, width=120), end="")
        return 0
    if args.parameter:
        print("cogniverse-chart generate: -p/--parameter needs --from", file=sys.stderr)
        return 2
    files = generate.guide_files(generate.render_defaults())
    if args.check:
        stale = generate.drift(files, args.out_dir)
        if stale:
            print(f"{args.out_dir}: out of date with the chart: {', '.join(stale)}; run `cogniverse-chart generate`",
                  file=sys.stderr)
            return 1
        print(f"{args.out_dir}: {len(files)} files match the chart")
        return 0
    written = generate.write(files, args.out_dir)
    for stale in generate.drift(files, args.out_dir):
        (args.out_dir / stale).unlink()
        print(f"removed {args.out_dir / stale} (no longer generated)")
    if args.output == "json":
        print(json.dumps({"files": [str(p) for p in written]}))
    else:
        print(f"wrote {len(written)} files to {args.out_dir}")
    return 0
