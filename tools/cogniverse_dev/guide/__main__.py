"""`python -m cogniverse_dev.guide list|run GUIDE.md`."""

from __future__ import annotations

import sys
from pathlib import Path

from cogniverse_chart.errors import ToolkitError

from .lookup import Lookup
from .markdown import GuideError, read
from .runner import classify, run, summary
from .workspace import environment, workdir


def main(argv: list[str] | None = None) -> int:
    """`python -m cogniverse_dev.guide verbatim|run GUIDE.md`: run a guide's commands on the cluster in
    KUBECONFIG (namespace cogniverse, the chart installed) and print which work."""
    import argparse
    import os
    import tempfile

    from cogniverse_chart import REPO_ROOT

    p = argparse.ArgumentParser(prog="python -m cogniverse_dev.guide", description=main.__doc__)
    p.add_argument("mode", choices=["list", "run"], help="list: the commands and what each needs; run: run them")
    p.add_argument("guide", type=Path)
    p.add_argument("--namespace", "-n", default="cogniverse", help="namespace placeholders are looked up in")
    p.add_argument("--timeout", type=float, default=300,
                   help="seconds per command; a placeholder with no match yet waits as long for running "
                        "workflows or Pending pods to become one")
    p.add_argument("--release", default="cogniverse",
                   help="the installed release: workflows/ in the run's working directory is generated from it "
                        "first (as after deploy_k3s.sh, whose default values the committed files are for)")
    args = p.parse_args(argv)
    try:
        cmds = read(args.guide)
    except (OSError, GuideError) as exc:
        print(f"guide: {exc}", file=sys.stderr)
        return 2
    if args.mode == "list":
        skip = classify(cmds)
        for i, c in enumerate(cmds):
            status = skip.get(i, ("run", ""))
            print(f"{c.line:4d} {status[0]:9s} {c.text}")
        print(f"{len(cmds)} commands, {len(cmds) - len(skip)} to run, {len(skip)} not run here")
        return 0
    if not os.environ.get("KUBECONFIG"):
        print("guide: set KUBECONFIG to the cluster the guide runs on", file=sys.stderr)
        return 2
    env = environment(REPO_ROOT, dict(os.environ))
    with tempfile.TemporaryDirectory(prefix="guide-") as tmp:
        from cogniverse_chart import generate

        cwd = workdir(REPO_ROOT, Path(tmp))
        try:
            docs, target = generate.render_for_release(args.release, args.namespace)
            generate.write(generate.guide_files(docs, target), cwd / "workflows")
        except ToolkitError as exc:  # not installed yet: the guide installs it itself
            print(f"guide: workflows/ as committed ({exc})", flush=True)
        results = run(cmds, cwd=cwd, env=env,
                      lookup=Lookup(args.namespace, env, wait=args.timeout), timeout=args.timeout,
                      on_result=lambda r: print(f"[{r.status}] {r.ran or r.command.text}", flush=True))
    print(summary(results))
    return 0 if not [r for r in results if r.status == "failed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
