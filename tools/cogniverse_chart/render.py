"""values -> `helm template` -> documents."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import CHART_DIR, PROFILES_DIR, io_limits, versions
from .documents import Document, parse_stream
from .errors import ToolkitError
from .helm import Helm, find_helm

#: `helm template --kube-version` default: the pinned Kubernetes (versions.env), as a current cluster reports.
DEFAULT_KUBE_VERSION = versions.kube_version()
DEFAULT_RELEASE = "cogniverse"
DEFAULT_NAMESPACE = "cogniverse"
#: API versions a cluster with Argo Workflows installed reports (for `.Capabilities` checks).
ARGO_API_VERSIONS = ("argoproj.io/v1alpha1",)


def profiles() -> dict[str, Path]:
    """Environment profiles: values/<name>.yaml."""
    return {p.stem: p for p in sorted(PROFILES_DIR.glob("*.yaml"))}


def profile_path(name: str) -> Path:
    found = profiles()
    if name not in found:
        raise ToolkitError(f"unknown profile '{name}'; known profiles: {', '.join(found) or 'none'}")
    return found[name]


@dataclass
class RenderRequest:
    values_files: list[Path] = field(default_factory=list)
    set_values: list[str] = field(default_factory=list)
    set_string_values: list[str] = field(default_factory=list)
    kube_version: str = DEFAULT_KUBE_VERSION
    api_versions: tuple[str, ...] = ARGO_API_VERSIONS
    release: str = DEFAULT_RELEASE
    namespace: str = DEFAULT_NAMESPACE
    chart: Path = CHART_DIR
    show_only: list[str] = field(default_factory=list)
    include_crds: bool = False  # the crds/ folders' files too (chart_crds: `check` validates what Helm installs)

    def args(self) -> list[str]:
        io_limits.check_chart(self.chart)
        from .config import name_problem

        for key, value in (("release", self.release), ("namespace", self.namespace)):
            if problem := name_problem(key, value):
                if key == "namespace" and value == self.release:  # E26: blamed an option nobody gave
                    raise ToolkitError(f"the namespace defaults to the release name {value!r}, which is not {problem}: "
                                       f"give one with --namespace or `namespace` in the config"[:300])
                raise ToolkitError(f"--{key} {value!r}: expected {problem} (it defaults to the chart's name; give "
                                   f"one with --{key} or `{key}` in the config)"[:300])
        chart = str(self.chart)  # a relative path starting with '-' would be a Helm option
        # every value is joined to its option (--set=VALUE): a value starting with '-' (`--set=--debug`,
        # `--set=--post-renderer=...`) stays a value instead of becoming one of Helm's own options
        args = ["template", self.release, f"./{chart}" if chart.startswith("-") else chart,
                f"--namespace={self.namespace}", f"--kube-version={self.kube_version}"]
        args += [f"--api-versions={api}" for api in self.api_versions]
        args += ["--include-crds"] if self.include_crds else []
        for f in self.values_files:
            if not Path(f).exists():
                if re.match(r"(?i)(https?|oci|ftp|file):/", str(f)):  # Path folds `//`: the scheme stays (D14)
                    raise ToolkitError(f"values file {f}: a URL, and URLs are not fetched (nothing leaves "
                                       f"the machine unasked): download the values file and give its path")
                if str(f) == "-":  # E37: Helm takes `-f -`; every scenario here reads the values again
                    raise ToolkitError("-f -: values from standard input are not taken here (each scenario and Helm "
                                       "major reads them again): save them to a file and give its path")
                raise ToolkitError(f"values file not found: {f}")
            # a FIFO would block helm, a device never ends: a regular file of a bounded size only
            if io_limits.check_file(f, "values file").st_size > io_limits.MAX_TEXT_BYTES:
                raise io_limits.too_large(f"values file {f}", io_limits.MAX_TEXT_BYTES)
            args.append(f"--values={_csv_field(str(f))}")
        args += [f"--set={s}" for s in self.set_values] + [f"--set-string={s}" for s in self.set_string_values]
        return args + [f"--show-only={s}" for s in self.show_only]


def _csv_field(path: str) -> str:
    """A values file name as one field of Helm's comma-separated --values list (D50: `ci/eu,prod-values.yaml`
    was read as `ci/eu` and `prod-values.yaml`): quoted, with quotes doubled, when it holds a comma or quote."""
    return '"' + path.replace('"', '""') + '"' if "," in path or '"' in path else path


def render_text(req: RenderRequest, helm: Helm | None = None) -> str:
    """Run `helm template`; raise HelmError with helm's message on failure (e.g. schema errors)."""
    return (helm or find_helm()).run(req.args()).stdout


def render(req: RenderRequest, helm: Helm | None = None) -> list[Document]:
    return parse_stream(render_text(req, helm), str(req.chart))
