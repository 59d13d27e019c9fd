"""`generate`: write the guide-compatible workflows/*.yaml from the chart, or a Workflow from a template.

    cogniverse-chart generate                      # (re)write workflows/ for the default release
                                                   # (what scripts/deploy_k3s.sh installs: values/k3s.yaml)
    cogniverse-chart generate --check              # exit 1 when the committed files drifted from the chart
    cogniverse-chart generate --from-release [--release cogniverse -n cogniverse] [--out-dir DIR]
                                                   # workflows/ for the installed release (its own values),
                                                   # so `kubectl apply -f workflows/...` changes nothing
    cogniverse-chart generate --check --from-release
                                                   # exit 1 naming the files that would change the release
    cogniverse-chart generate --profile smoke -n ns --release r   # for a release not installed yet
    cogniverse-chart generate --from cronwf/daily-backup -p retention-days=3 [--profile k3s]
                                                   # a Workflow manifest on stdout, like argo submit --from
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from .. import config, generate
from ..render import render
from ..errors import ToolkitError
from .stale import report as stale_report
from .options import (add_render_args, add_timeout_arg, chart_of, check_kubeconfigs, config_of, parse_pairs,
                      release_of, request_from_args)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate workflows/*.yaml from the chart, or a Workflow from a template")
    p.add_argument("--out-dir", type=Path, default=None,
                   help="where the guide files go (default: the config's workflows-dir)")
    p.add_argument("--check", action="store_true", help="fail (exit 1) when the files differ from the chart")
    p.add_argument("--from-release", action="store_true",
                   help="generate for the installed release --release in --namespace, with the values "
                        "`helm get values --all` reports (needs KUBECONFIG)")
    p.add_argument("--kubeconfig", default=None, help="kubeconfig for --from-release (default: $KUBECONFIG)")
    add_timeout_arg(p, 120)
    p.add_argument("--from", dest="source", metavar="KIND/NAME",
                   help="workflowtemplate/NAME or cronwf/NAME: print a Workflow for it instead")
    p.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                   help="workflow parameter for --from (like argo submit -p); repeatable")
    add_render_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    _, namespace = release_of(args)
    if args.source is not None:
        if not args.source.strip():
            raise ToolkitError("--from '': name what to run, workflowtemplate/NAME or cronwf/NAME")
        if args.out_dir is not None or args.check:  # they belong to the guide files; --from prints (D43)
            raise ToolkitError("--from prints one Workflow to stdout: drop --out-dir/--check (they are for the guide "
                               "files), or redirect the output")
        docs = render(request_from_args(args))
        wf = generate.workflow_from(docs, args.source, parse_pairs(args.parameter, "--parameter"), namespace)
        if args.output == "json":
            print(json.dumps(wf))
        else:
            print(yaml.safe_dump(wf, sort_keys=False, width=120), end="")
        return 0
    if args.parameter:
        raise ToolkitError("-p/--parameter needs --from")
    if args.out_dir is None:
        args.out_dir = config_of(args).relpath("workflows-dir")
        if args.out_dir is None:
            raise ToolkitError("where do the guide workflows go? give --out-dir DIR, or set workflows-dir in "
                               "the config file (generate --from KIND/NAME prints one Workflow instead)")
    if not args.check:
        generate.refuse_out_dir(args.out_dir)  # before rendering: nothing is written or removed there
    if args.from_release:
        if args.profile or args.values or args.set_values or args.set_string_values:
            raise ToolkitError("--from-release takes the release's own values; drop --profile/--values/--set")
        for key in ("release", "namespace"):  # checked before helm asks the cluster (attack21d #18: `-n ..`)
            if problem := config.name_problem(key, getattr(args, key)):
                raise ToolkitError(f"--{key} {getattr(args, key)!r:.80}: expected {problem}")
        check_kubeconfigs(args.kubeconfig)  # helm would wait on a FIFO, or read /dev/zero
        docs, target = generate.render_for_release(args.release, args.namespace, kubeconfig=args.kubeconfig,
                                                   chart=chart_of(args), timeout=args.timeout)
    else:
        if not (args.profile or args.values or args.set_values or args.set_string_values):
            args.profile = [generate.DEFAULT_PROFILE]
            chosen_default = True
        else:
            chosen_default = False
        req = request_from_args(args)
        docs = render(req)
        chosen = [f"profile {p}" for p in args.profile] + [str(v) for v in args.values] + \
            [f"--set {v}" for v in args.set_values + args.set_string_values]
        target = generate.Target(args.release, args.namespace,
                                 generate.DEFAULT_TARGET_VALUES if chosen_default else " + ".join(chosen))
    files = generate.guide_files(docs, target, chart_of(args))
    what = f"release {target.release} in namespace {target.namespace}"
    if args.check:
        stale = generate.drift(files, args.out_dir, objects_only=args.from_release)
        code = stale_report(args, "generate", "generated/workflows", [str(args.out_dir / s) for s in stale],
                            f"out of date with the chart: run `{_regenerate_command(args)}`", len(files))
        if code is not None:
            return code
        if args.output == "json":
            print(json.dumps({"command": "generate", "ok": not stale, "out_dir": str(args.out_dir),
                              "stale": stale, "release": target.release, "namespace": target.namespace,
                              "values": target.values}))
            return 1 if stale else 0
        if stale:
            if args.from_release:
                print(f"{args.out_dir}: {', '.join(stale)} would change the installed {what} "
                      f"(`kubectl apply` resets it to other values); run `cogniverse-chart generate "
                      f"--from-release --release {target.release} -n {target.namespace}` first", file=sys.stderr)
            else:
                print(f"{args.out_dir}: out of date with the chart for {what} (values: {target.values}): "
                      f"{', '.join(stale)}; run `{_regenerate_command(args)}`", file=sys.stderr)
            return 1
        print(f"{args.out_dir}: {len(files)} files match the chart for {what}")
        return 0
    written = generate.write(files, args.out_dir)
    for stale in generate.drift(files, args.out_dir):
        (args.out_dir / stale).unlink()
        print(f"removed {args.out_dir / stale} (no longer generated)")
    if args.output == "json":
        print(json.dumps({"files": [str(p) for p in written], "release": target.release,
                          "namespace": target.namespace, "values": target.values}))
    else:
        print(f"wrote {len(written)} files to {args.out_dir} for {what} (values: {target.values})")
    return 0


def _regenerate_command(args: argparse.Namespace) -> str:
    """The `generate` command that rewrites the files --check compared."""
    parts = ["cogniverse-chart generate"]
    if args.release != "cogniverse":
        parts.append(f"--release {args.release}")
    if args.namespace != "cogniverse":
        parts.append(f"-n {args.namespace}")
    parts += [f"--profile {p}" for p in args.profile if p != generate.DEFAULT_PROFILE or len(args.profile) > 1 or args.values]
    parts += [f"-f {v}" for v in args.values]
    parts += [f"--set {v}" for v in args.set_values] + [f"--set-string {v}" for v in args.set_string_values]
    if args.out_dir != config_of(args).relpath("workflows-dir"):
        parts.append(f"--out-dir {args.out_dir}")
    return " ".join(parts)
