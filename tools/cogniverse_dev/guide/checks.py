"""Checks of a guide's commands without a cluster: every parameter an `argo submit` passes is one
the template declares, and every argo flag exists in the pinned Argo CLI (read from its module's sources)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .markdown import GuideCommand


# ---- argo submit ---------------------------------------------------------------------------------

@dataclass
class Submission:
    """What one `argo submit` command submits: a file or --from target, and its parameters."""

    command: GuideCommand
    source: str  # "workflows/batch-optimization.yaml" or "cronwf/daily-backup"
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def template(self) -> str:
        """The WorkflowTemplate/CronWorkflow name the submission runs (file stem or --from name)."""
        if "/" in self.source and not self.source.endswith((".yaml", ".yml")):
            return self.source.split("/", 1)[1]
        return Path(self.source).stem


def submissions(cmds: list[GuideCommand]) -> list[Submission]:
    """Every `argo submit` among the commands, with its `--parameter`/`-p` pairs."""
    out = []
    for cmd in cmds:
        words = cmd.argv
        if words[:2] != ["argo", "submit"]:
            continue
        source = ""
        params: dict[str, str] = {}
        i = 2
        while i < len(words):
            w = words[i]
            if w in ("--parameter", "-p") and i + 1 < len(words):
                key, _, value = words[i + 1].partition("=")
                params[key] = value
                i += 2
                continue
            if w.startswith("--parameter="):
                key, _, value = w[len("--parameter="):].partition("=")
                params[key] = value
            elif w == "--from" and i + 1 < len(words):
                source = words[i + 1]
                i += 2
                continue
            elif w in ("-n", "--namespace", "-l", "--labels", "-o", "--output", "--serviceaccount",
                       "--generate-name", "--name", "--entrypoint"):
                i += 2
                continue
            elif not w.startswith("-") and not source:
                source = w
            i += 1
        out.append(Submission(cmd, source, params))
    return out


def check_submissions(subs: list[Submission], docs: list, files_dir: Path | None = None) -> list[str]:
    """One message per parameter a submission passes that its template does not declare (Argo would
    ignore it silently), and per submission whose template is not in the rendered chart. `docs` are
    the rendered chart documents; a `workflows/X.yaml` file must reference WorkflowTemplate X."""
    declared: dict[tuple[str, str], list[str]] = {}
    for d in docs:
        if d.kind in ("WorkflowTemplate", "CronWorkflow"):
            spec = d.obj["spec"]["workflowSpec"] if d.kind == "CronWorkflow" else d.obj["spec"]
            declared[(d.kind, d.name)] = [p["name"] for p in (spec.get("arguments") or {}).get("parameters") or []]
    problems = []
    for s in subs:
        where = f"line {s.command.line} ({s.source or 'no file'})"
        if s.source.startswith(("cronwf/", "cronworkflow/")):
            key = ("CronWorkflow", s.template)
        else:
            key = ("WorkflowTemplate", s.template)
            if files_dir is not None and s.source.endswith((".yaml", ".yml")):
                import yaml

                path = files_dir / Path(s.source).name
                if not path.is_file():
                    problems.append(f"{where}: {path} does not exist")
                    continue
                refs = [(d or {}).get("spec", {}).get("workflowTemplateRef", {}).get("name")
                        for d in yaml.safe_load_all(path.read_text(encoding="utf-8"))]
                if refs != [s.template]:
                    problems.append(f"{where}: {path} does not submit WorkflowTemplate {s.template} (refs {refs})")
        if key not in declared:
            problems.append(f"{where}: the chart has no {key[0]} {key[1]!r}")
            continue
        for name in s.parameters:
            if name not in declared[key]:
                problems.append(f"{where}: {key[0]} {key[1]} has no parameter {name!r} "
                                f"(it declares: {', '.join(declared[key])}); Argo would ignore it")
    return problems


# ---- argo CLI flags, read from the Argo module's sources -----------------------------------------

FLAG_DEF = re.compile(r'Flags\(\)\.\w+\(\s*&?[^,]*,\s*"([A-Za-z0-9-]+)"(?:,\s*"([A-Za-z])")?')
#: kubectl's override flags every argo command has (clientcmd.BindOverrideFlags), and the root's own.
GLOBAL_FLAGS = {"namespace", "n", "kubeconfig", "context", "cluster", "user", "server", "s", "token",
                "loglevel", "gloglevel", "verbose", "v", "help", "h", "argo-server", "insecure-skip-verify",
                "secure", "e", "k", "instanceid", "argo-base-href", "argo-http1", "header", "H",
                "request-timeout", "as", "as-group", "as-uid", "certificate-authority", "client-certificate",
                "client-key", "disable-compression", "insecure-skip-tls-verify", "password", "proxy-url",
                "tls-server-name", "username"}
#: argo subcommands that take the submit options (workflow/util/util.go PopulateSubmitOpts).
SUBMIT_OPTS = {("submit",), ("cron", "create")}


def argo_module_dir(version: str, gopath: Path | None = None) -> Path:
    """Where the Go module cache holds the Argo module of a version (v3.x or v4.x)."""
    import os

    major = version.lstrip("v").split(".", 1)[0]
    root = gopath or Path(os.environ.get("GOMODCACHE") or Path(os.environ.get("GOPATH") or Path.home() / "go") / "pkg" / "mod")
    return root / "github.com" / "argoproj" / "argo-workflows" / f"v{major}@{version}"


def argo_flags(module: Path, subcommand: tuple[str, ...]) -> set[str]:
    """Long and short flag names `argo <subcommand>` accepts, from the module's Go sources."""
    base = module / "cmd" / "argo" / "commands"
    path = base.joinpath(*subcommand[:-1], f"{subcommand[-1]}.go")
    if not path.is_file():
        raise FileNotFoundError(f"no source for `argo {' '.join(subcommand)}` at {path}")
    sources = [path.read_text(encoding="utf-8")]
    if subcommand in SUBMIT_OPTS:
        sources.append((module / "workflow" / "util" / "util.go").read_text(encoding="utf-8"))
    names = set(GLOBAL_FLAGS)
    for text in sources:
        for long, short in FLAG_DEF.findall(text):
            names.add(long)
            if short:
                names.add(short)
    return names


ARGO_GROUPS = {"cron", "template", "archive", "clustertemplate", "auth", "cluster-template"}


def argo_usage(cmd: GuideCommand) -> list[tuple[tuple[str, ...], list[str]]]:
    """Each `argo` invocation of a command line (pipes and `$(...)` split): its subcommand and the
    flag names it passes (without dashes or values)."""
    out = []
    for segment in re.split(r"\||\$\(|;|&&", cmd.text):
        try:
            words = shlex.split(segment.strip().rstrip(")"), comments=True)
        except ValueError:
            continue
        if not words or words[0] != "argo" or len(words) < 2:
            continue
        sub = (words[1], words[2]) if words[1] in ARGO_GROUPS and len(words) > 2 else (words[1],)
        flags = [w.lstrip("-").split("=", 1)[0] for w in words[1 + len(sub):] if w.startswith("-") and w != "-"]
        out.append((sub, flags))
    return out


def unknown_argo_flags(cmds: list[GuideCommand], module: Path) -> list[tuple[GuideCommand, str]]:
    """(command, flag) for every flag the pinned argo CLI does not define for that subcommand."""
    out = []
    cache: dict[tuple[str, ...], set[str]] = {}
    for cmd in cmds:
        for sub, flags in argo_usage(cmd):
            if sub not in cache:
                cache[sub] = argo_flags(module, sub)
            out += [(cmd, f) for f in flags if f not in cache[sub]]
    return out
