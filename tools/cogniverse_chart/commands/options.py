"""Command-line options shared by several commands, and the objects built from them.

- `add_schema_args` / `validator_from_args`: the schema versions of `validate` and `check`;
- `add_connection_args` / `client`: the cluster connection of `submit`, `trigger`, `wait` and `list`;
- `add_wait_args`, `add_run_args`: waiting, and `-p`/`-l` of every command that starts a Workflow;
- `add_render_args` / `request_from_args`: the chart, profiles, values and `--set` of `render` and `generate`;
- `add_set_args`, `add_helm_arg` / `helms_of`: `--set`/`--set-string` and `--helm` of `render`, `lint`, `check`;
- `add_chart_arg` / `chart_of` / `config_of`: the chart in front of the toolkit and its config file;
- `parse_pairs`: NAME=VALUE lists (`-p`, `-l`, `generate --from ... -p`).
"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from .. import chart_yaml, config
from ..documents import load_document, read_text
from ..errors import ToolkitError

if TYPE_CHECKING:
    from ..argo.client import ArgoClient
    from ..helm import Helm
    from ..render import RenderRequest
    from ..validate import Validator

# Start-up: each command imports only what it runs. The schema modules are imported by the two commands
# that validate, the cluster client by the commands that connect, the renderer by those that render.

MAX_TIMEOUT = 7 * 24 * 3600.0  # a week: longer waits are a typo (ms for s), not a plan
MAX_POLL = 300.0


def parse_pairs(items: Iterable[str], what: str) -> dict[str, str]:
    """['a=1', 'b=x=y'] -> {'a': '1', 'b': 'x=y'}; a bad item raises naming it."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ToolkitError(f"{what} {item!r} must be NAME=VALUE")
        if key in out:  # the last one silently won (D37)
            raise ToolkitError(f"{what} {key} is given twice ({out[key]!r:.60} and {value!r:.60}); give it once")
        if what == "--label" and (problem := _label_problem(key, value)):
            raise ToolkitError(f"--label {item!r:.120}: {problem}")
        out[key] = value
    return out


_LABEL_NAME = re.compile(r"(?=.{1,63}$)[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _label_problem(key: str, value: str) -> str | None:
    """What the API server would refuse in a label (D37: sent as given, refused only there), or a key of
    Argo's own (attack21d #19: `workflows.argoproj.io/completed=true` makes a run Argo never starts), or None."""
    prefix, slash, name = key.rpartition("/")
    if prefix.lower() == "workflows.argoproj.io" or prefix.lower().endswith(".workflows.argoproj.io"):
        return "labels under workflows.argoproj.io/ are Argo's own (set by its controller), not the submitter's"
    if not _LABEL_NAME.fullmatch(name) or (slash and not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return ("a label key is [PREFIX/]NAME: NAME at most 63 letters, digits, '-', '_' or '.' (starting and "
                "ending with a letter or digit), PREFIX a DNS subdomain")
    if value and not _LABEL_NAME.fullmatch(value):
        return ("a label value is empty or at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
                "letter or digit")
    return None


def check_object_name(flag: str, value: str) -> str:
    """A Workflow, WorkflowTemplate or CronWorkflow name given on the command line, checked before any request:
    the API server's names are DNS subdomains, and `.`/`..` would be read as path segments (attack21d #18:
    `wait .` fetched the namespace's list, `trigger ..` the namespace)."""
    if not _DNS_SUBDOMAIN.fullmatch(value):  # "." and ".." too: a name starts with a letter or digit
        raise ToolkitError(f"{flag} {value!r:.80}: expected an object name: lowercase letters, digits, '-' and "
                           f"'.', starting and ending with a letter or digit, at most 253 characters")
    return value


def seconds(maximum: float) -> Callable[[str], float]:
    """argparse type: a finite number of seconds in (0, maximum]; nan, inf, 0 and negatives are refused."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
        if not math.isfinite(value) or not 0 < value <= maximum:
            raise argparse.ArgumentTypeError(f"must be a number of seconds > 0 and <= {maximum:.0f}, got {text!r}")
        return value
    return parse


def add_schema_args(p: argparse.ArgumentParser) -> None:
    from ..validate import DEFAULT_ARGO_VERSIONS, DEFAULT_KUBE_VERSIONS

    p.add_argument("--kube-version", action="append", default=None, metavar="X.Y",
                   help=f"Kubernetes schema version; repeatable (default: {', '.join(DEFAULT_KUBE_VERSIONS)})")
    p.add_argument("--argo-version", action="append", default=None, metavar="X.Y",
                   help=f"Argo Workflows schema version; repeatable (default: {', '.join(DEFAULT_ARGO_VERSIONS)})")
    p.add_argument("--allow-unknown-kinds", action="store_true",
                   help="report kinds without a bundled schema (custom resources) as notes, not errors")
    p.add_argument("--schemas-dir", action="append", default=[], type=Path, metavar="DIR",
                   help="bundles built by `schemas fetch --dest DIR`, used before the packaged ones; repeatable")


def validator_from_args(args: argparse.Namespace) -> "Validator":
    """The Validator of --kube-version/--argo-version (default: the config's kube-versions/argo-versions,
    else the pinned ones) and --schema-location."""
    from ..validate import DEFAULT_ARGO_VERSIONS, DEFAULT_KUBE_VERSIONS, Validator

    cfg = config_of(args)
    extra = None
    if getattr(args, "schema_location", None):
        from ..schemas import load_locations

        extra = load_locations(args.schema_location)
    dirs = getattr(args, "schemas_dir", ())
    return Validator(kube_versions=tuple(args.kube_version or _configured(cfg, "kube-versions", "k8s", dirs)
                                         or DEFAULT_KUBE_VERSIONS),
                     argo_versions=tuple(args.argo_version or _configured(cfg, "argo-versions", "argo", dirs)
                                         or DEFAULT_ARGO_VERSIONS),
                     allow_unknown_kinds=args.allow_unknown_kinds, extra_schemas=extra,
                     schema_dirs=getattr(args, "schemas_dir", ()))


def _configured(cfg: config.Config, key: str, family: str, dirs: Iterable[Path]) -> list[str] | None:
    """The config's schema versions, each one the package bundles or a --schemas-dir holds; else one line
    naming the config file and key (attack24c E25: "no bundled Kubernetes 1.29 schemas" named neither)."""
    from .. import schemas

    given = cfg.get(key)
    have = set(schemas.available(family)).union(*(schemas.available(family, Path(d)) for d in dirs))
    for v in given or []:
        if schemas.minor(v) not in have:
            label = "Kubernetes" if family == "k8s" else "Argo Workflows"
            raise ToolkitError(f"{cfg.label}: {key}: no {label} {schemas.minor(v)} schemas (bundled: "
                               f"{', '.join(schemas.available(family))}; `schemas fetch --dest DIR` and --schemas-dir "
                               f"add others)"[:300])
    return given


def add_kind_filter_args(p: argparse.ArgumentParser) -> None:
    """kubeconform's --skip/--reject (kinds, or apiVersion/Kind), --summary and --schema-location."""
    p.add_argument("--skip", action="append", default=[], metavar="KIND[,KIND]",
                   help="kinds (or apiVersion/Kind) not to validate; comma-separated, repeatable")
    p.add_argument("--reject", action="append", default=[], metavar="KIND[,KIND]",
                   help="kinds (or apiVersion/Kind) that are an error wherever they appear; comma-separated, repeatable")
    p.add_argument("--summary", action="store_true", help="print how many objects were valid, invalid and skipped")
    p.add_argument("--schema-location", action="append", default=[], type=Path, metavar="PATH",
                   help="CustomResourceDefinition manifests, or GROUP/KIND_VERSION.json schemas (kubeconform's "
                        "CRD catalog layout), for your own kinds; file or folder, repeatable")


def kinds(items: list[str]) -> set[str]:
    return {k.strip() for item in items for k in item.split(",") if k.strip()}


def add_timeout_arg(p: argparse.ArgumentParser, default: float) -> None:
    """--timeout: the whole deadline of a command that talks to the cluster (every call and wait under it)."""
    p.add_argument("--timeout", type=seconds(MAX_TIMEOUT), default=default,
                   help=f"seconds the whole command may take, > 0 and at most {MAX_TIMEOUT:.0f} (default: {default:g})")


def add_connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--namespace", "-n", default="cogniverse", help="namespace of the workflows (default: cogniverse)")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    p.add_argument("--context", help="kubeconfig context")


def add_wait_args(p: argparse.ArgumentParser, *, optional: bool) -> None:
    if optional:
        p.add_argument("--wait", "-w", action="store_true", help="wait for the workflow to finish")
    add_timeout_arg(p, 1800)
    p.add_argument("--poll", type=seconds(MAX_POLL), default=2.0, help=argparse.SUPPRESS)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines while waiting")


def add_run_args(p: argparse.ArgumentParser, parameter_help: str) -> None:
    """-p/-l, the cluster connection and --wait: shared by every command that starts a Workflow."""
    p.add_argument("--parameter", "-p", action="append", default=[], metavar="NAME=VALUE", help=parameter_help)
    p.add_argument("--label", "-l", action="append", default=[], metavar="KEY=VALUE", help="label; repeatable")
    add_connection_args(p)
    add_wait_args(p, optional=True)


def client(args: argparse.Namespace) -> ArgoClient:
    """The ArgoClient of --namespace/--kubeconfig/--context, after checking each kubeconfig file."""
    import yaml

    from ..argo.client import ArgoClient
    from ..io_limits import Deadline

    deadline = Deadline(args.timeout)  # the command's --timeout is a whole deadline, from here on
    if problem := config.name_problem("namespace", args.namespace or ""):  # "" would list every namespace
        raise ToolkitError(f"--namespace {args.namespace!r:.80}: expected {problem}")
    check_kubeconfigs(args.kubeconfig)
    try:
        return ArgoClient.connect(args.namespace, args.kubeconfig, args.context, deadline)
    except (UnicodeError, ValueError, yaml.YAMLError) as exc:  # what the kubernetes client lets through
        raise ToolkitError(f"kubeconfig: unusable: {' '.join(str(exc).split())[:200]}; "
                           f"check --kubeconfig / $KUBECONFIG") from None


def check_kubeconfigs(flag: str | None) -> None:
    """Each kubeconfig file of --kubeconfig / $KUBECONFIG / ~/.kube/config (see `_check_kubeconfig`)."""
    files = _kubeconfig_files(flag)
    if not flag and len(files) > 1:  # a $KUBECONFIG list: kubectl skips the files that do not exist (E34)
        files = [f for f in files if f.exists() or f.is_symlink()] or files[:1]
    for f in files:
        _check_kubeconfig(f)


def _kubeconfig_files(flag: str | None) -> list[Path]:
    if flag:
        return [Path(flag)]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    default = Path.home() / ".kube" / "config"
    return [default] if default.exists() else []


def _check_kubeconfig(path: Path) -> None:
    """A kubeconfig must be a readable UTF-8 YAML mapping; say which file and what is wrong with it."""
    if path.is_dir():
        raise ToolkitError(f"{path}: is a directory, not a kubeconfig file (--kubeconfig / $KUBECONFIG)")
    if not path.exists():
        raise ToolkitError(f"{path}: kubeconfig not found (--kubeconfig / $KUBECONFIG)")
    from ..argo.client import check_kubeconfig_refs

    objs = load_document(read_text(path), str(path))
    if not objs or not isinstance(objs[0], dict):
        raise ToolkitError(f"{path}: not a kubeconfig (expected a YAML mapping with clusters, users, contexts)")
    for key in ("clusters", "users", "contexts"):  # E34: `clusters: 5` said "'int' object is not iterable"
        value = objs[0].get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, dict) for v in value)):
            raise ToolkitError(f"{path}: {key} must be a list of mappings (each with a name), got "
                               f"{type(value).__name__}")
    check_kubeconfig_refs(path, objs[0])


def add_chart_arg(p: argparse.ArgumentParser, what: str = "the chart") -> None:
    p.add_argument("--chart", type=Path, default=None, metavar="PATH",
                   help=f"{what} (default: the config's `chart`, else the chart in the current directory, "
                        f"else the only one in ./charts/)")


def config_of(args: argparse.Namespace) -> config.Config:
    """--config FILE, else the nearest config file from the current directory, or a nearer one from the chart's
    folder up (attack24c E43: run from the repository root, as hooks and the Action are, the config beside
    charts/demo was never read)."""
    explicit = getattr(args, "config", None)
    cfg = config.load(explicit)
    if explicit is not None or getattr(args, "paths", None):  # files named on the command line: no chart's config
        return cfg
    chart = getattr(args, "chart", None)
    try:
        chart = chart if chart is not None else None if cfg.get("chart") else config.find_chart(None, cfg)
    except ToolkitError:
        chart = None
    here = Path.cwd().resolve()
    if chart is None or not Path(chart).is_dir() or not Path(chart).resolve().is_relative_to(here):
        return cfg  # a chart elsewhere (`--chart /other/chart`): only what the user named is read
    near = config.load(None, str(Path(chart).resolve()))  # cached, as the current directory's
    if near.path is not None and near.path != cfg.path and near.path.resolve().is_relative_to(here) and \
            (cfg.path is None or near.path.resolve().is_relative_to(cfg.path.resolve().parent)):
        return near
    return cfg


def chart_of(args: argparse.Namespace) -> Path:
    """The chart the command works on (--chart, config, current directory); cached on args."""
    if getattr(args, "_chart", None) is None:
        args._chart = config.find_chart(getattr(args, "chart", None), config_of(args))
    return args._chart


def scenarios_of(args: argparse.Namespace, names: list[str] | None) -> dict[str, Path | None]:
    """{scenario: values file} chosen by --profile (default: every scenario of the chart)."""
    return config.select(config.scenarios(chart_of(args), config_of(args)), names)


def add_render_args(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that renders the chart. `-p` is never --profile: throughout the
    toolkit, as in argo, it is a workflow --parameter."""
    p.add_argument("--profile", action="append", default=[],
                   metavar="SCENARIO",
                   help="scenario: a ci/NAME-values.yaml of the chart, or the config's `scenarios` "
                        "(values/NAME.yaml here); repeatable")
    p.add_argument("--values", "-f", action="append", default=[], type=Path, help="values file; repeatable")
    add_set_args(p)
    p.add_argument("--kube-version", default=None,
                   help="helm template --kube-version (default: the config's kube-version, else the pinned "
                        "Kubernetes)")
    p.add_argument("--api-versions", action="append", default=None,
                   help="extra API versions for .Capabilities (default: argoproj.io/v1alpha1)")
    p.add_argument("--release", default=None, help="release name (default: the config's `release`, else the chart's name)")
    p.add_argument("--namespace", "-n", default=None, help="namespace (default: as --release)")
    add_chart_arg(p)
    p.set_defaults(_names=True)


def add_set_args(p: argparse.ArgumentParser) -> None:
    """Helm's --set and --set-string, given to helm as they are (Helm parses commas, escapes and types),
    after every values file: in `render`, `generate`, and on top of every scenario in `lint` and `check`."""
    p.add_argument("--set", action="append", default=[], dest="set_values", metavar="KEY=VALUE",
                   help="helm --set, after the values files (a,b=c: several; \\, a comma); repeatable")
    p.add_argument("--set-string", action="append", default=[], dest="set_string_values", metavar="KEY=VALUE",
                   help="helm --set-string (the value stays a string); repeatable")


def add_helm_arg(p: argparse.ArgumentParser, *, default: str | None = None, one: bool = False) -> None:
    """--helm: the Helm major that renders, or `all` (not with `one`): each major found, in turn. A major's
    binary is $HELM<N>, else the pinned .tools/bin/helm<N>, else `helm` on PATH if it is of that major."""
    shown = "every Helm major found" if default == "all" else "the preferred helm ($HELM, else helm on PATH)"
    p.add_argument("--helm", choices=["3", "4"] if one else ["3", "4", "all"], default=default,
                   help=f"render with Helm 3 or 4{'' if one else ', or all: every Helm major found'} (default: {shown})")


def helms_of(args: argparse.Namespace) -> "list[Helm]":
    """The Helms --helm names: one major, every major found (`all`), or (not given) the preferred one; a
    major with no usable binary is a one-line error saying how to get one."""
    from ..helm import available_helms, find_helm

    if args.helm == "all":
        return available_helms() or [find_helm()]
    return [find_helm(int(args.helm) if args.helm else None)]


def release_of(args: argparse.Namespace) -> tuple[str, str]:
    """(release, namespace): --release/-n, else the config's `release`/`namespace`, else the chart's name;
    the names are written back into args for the commands that print them."""
    cfg = config_of(args)
    chart = chart_of(args)
    if getattr(args, "release", None) is None:
        args.release = cfg.get("release") or chart_yaml.chart_name(chart)
    if getattr(args, "namespace", None) is None:
        args.namespace = cfg.get("namespace") or args.release
    return args.release, args.namespace


def kube_version_of(args: argparse.Namespace) -> str:
    from ..render import DEFAULT_KUBE_VERSION

    given = getattr(args, "kube_version", None)
    if isinstance(given, list):  # check/lint: the repeatable schema versions; Helm renders for the newest (E8)
        from ..schemas import minor

        given = max(given, key=lambda v: tuple(int(p) for p in minor(v).split("."))).strip() if given else None
    return given or config_of(args).get("kube-version") or DEFAULT_KUBE_VERSION


def request_from_args(args: argparse.Namespace) -> RenderRequest:
    from ..render import RenderRequest

    profiles = [p for p in scenarios_of(args, args.profile).values() if p] if args.profile else []
    release_of(args)
    req = RenderRequest(
        values_files=profiles + list(args.values),
        set_values=args.set_values,
        set_string_values=args.set_string_values,
        kube_version=kube_version_of(args),
        release=args.release,
        namespace=args.namespace,
        chart=chart_of(args),
    )
    if args.api_versions is not None:
        req.api_versions = tuple(args.api_versions)
    return req
