"""Release metadata of the chart: the changelog, the Artifact Hub annotations derived from it, and the
version discipline that chart-testing enforces (a changed chart needs a new `version`).

charts/cogniverse/CHANGELOG.md is the one source of the release notes:

    ## 0.2.0
    - changed: Security hardening of every workload ...
    - added: Argo Workflows 4.0 support ...

`artifacthub.io/changes` in Chart.yaml is generated from the section of the chart's current version,
and `artifacthub.io/images` from the images pinned in values.yaml (`cogniverse-chart annotations`;
`--check` fails when Chart.yaml is stale).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import CHART_DIR, io_limits, safe_write
from .errors import ToolkitError

#: Change kinds Artifact Hub accepts in artifacthub.io/changes.
KINDS = ("added", "changed", "deprecated", "removed", "fixed", "security")
GENERATED_KEYS = ("artifacthub.io/changes", "artifacthub.io/images")
_SECTION = re.compile(r"^## (\S+)\s*$")
_ENTRY = re.compile(r"^- (\w+): (.+)$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
#: SemVer 2 with build metadata (`0.2.0+build.7`: Helm packages it), for Chart.yaml's version
_SEMVER_BUILD = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")


def semver_key(version: str) -> tuple | None:
    """A sort key by SemVer precedence (a pre-release sorts before its release, numeric identifiers
    numerically and before alphanumeric ones, build metadata ignored); None when not SemVer."""
    m = _SEMVER_BUILD.match(version)
    if not m:
        return None
    core = (int(m[1]), int(m[2]), int(m[3]))
    if m[4] is None:
        return core, 1, ()
    return core, 0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in m[4].split("."))


@dataclass(frozen=True)
class Change:
    kind: str
    description: str


def chart_meta(chart: Path = CHART_DIR) -> dict:
    path = chart / "Chart.yaml"
    try:
        meta = yaml.safe_load(io_limits.read_text(path))
    except OSError as exc:
        raise ToolkitError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ToolkitError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("version"), str) or \
            not _SEMVER_BUILD.match(meta["version"]):
        raise ToolkitError(f"{path}: `version` must be a SemVer string such as 0.2.0")
    return meta


def chart_version(chart: Path = CHART_DIR) -> str:
    return chart_meta(chart)["version"]


def parse_changelog(path: Path) -> dict[str, list[Change]]:
    """{version: [Change]} in file order; every line after a `## VERSION` heading is `- KIND: text`."""
    try:
        lines = io_limits.read_text(path).splitlines()
    except OSError as exc:
        raise ToolkitError(f"{path}: cannot read the changelog: {exc.strerror or exc}") from None
    out: dict[str, list[Change]] = {}
    current: list[Change] | None = None
    for n, line in enumerate(lines, 1):
        if m := _SECTION.match(line):
            if not _SEMVER.match(m[1]) or m[1] in out:
                raise ToolkitError(f"{path}:{n}: `## {m[1]}` must name a new SemVer version, once")
            current = out[m[1]] = []
        elif m := _ENTRY.match(line):
            if current is None or m[1] not in KINDS:
                raise ToolkitError(f"{path}:{n}: expected `- KIND: text` under a `## VERSION` heading, "
                                   f"KIND one of {', '.join(KINDS)}")
            current.append(Change(m[1], m[2].strip()))
        elif line.strip() and current is not None:
            raise ToolkitError(f"{path}:{n}: expected `- KIND: text` (one line per change), got {line.strip()!r}")
    return out


def pinned_images(chart: Path = CHART_DIR) -> list[tuple[str, str]]:
    """[(name, image)] for every `image: {repository, tag, digest}` in values.yaml; an empty tag means
    the chart's appVersion. The name is the path to the image block (`runtime`, `workflows.runner`)."""
    meta = chart_meta(chart)
    values = yaml.safe_load(io_limits.read_text(chart / "values.yaml")) or {}
    found: dict[str, str] = {}

    def walk(node: object, path: list[str]) -> None:
        if not isinstance(node, dict):
            return
        for key, child in node.items():
            if key == "image" and isinstance(child, dict) and isinstance(child.get("repository"), str):
                digest, tag = child.get("digest") or "", child.get("tag") or str(meta.get("appVersion", ""))
                ref = f"{child['repository']}@{digest}" if digest else f"{child['repository']}:{tag}"
                found.setdefault(ref, ".".join(path) or "image")
            else:
                walk(child, [*path, str(key)])

    walk(values, [])
    return sorted((name, ref) for ref, name in found.items())


def annotation_block(chart: Path = CHART_DIR, changelog: Path | None = None) -> list[str]:
    """The generated Chart.yaml lines (indented under `annotations:`) for the current version."""
    changelog = changelog or chart / "CHANGELOG.md"
    version = chart_version(chart)
    changes = parse_changelog(changelog).get(version)
    if not changes:
        raise ToolkitError(f"{changelog}: no `## {version}` section with changes for the chart's version "
                           f"{version}; add one (`- changed: what changed`)")
    lines = ["  artifacthub.io/changes: |"]
    for c in changes:
        lines += [f"    - kind: {c.kind}", f"      description: {_quote(c.description)}"]
    lines.append("  artifacthub.io/images: |")
    for name, ref in pinned_images(chart):
        lines += [f"    - name: {name}", f"      image: {ref}"]
    return lines


def _quote(text: str) -> str:
    return yaml.safe_dump(text, default_style='"', width=10_000).strip()


def render_chart_yaml(chart: Path = CHART_DIR) -> tuple[str, str]:
    """(current, wanted) Chart.yaml text: the generated keys are replaced at the end of `annotations:`,
    every other line is kept as written."""
    path = chart / "Chart.yaml"
    current = io_limits.read_text(path)
    lines = current.splitlines()
    try:
        start = lines.index("annotations:")
    except ValueError:
        raise ToolkitError(f"{path}: no top-level `annotations:` mapping to write the Artifact Hub keys into") from None
    end = start + 1
    while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
        end += 1
    kept, skipping = [], False
    for line in lines[start + 1:end]:
        if line.startswith("  ") and not line.startswith("   "):
            skipping = line.strip().split(":", 1)[0] in GENERATED_KEYS
        if not skipping:
            kept.append(line)
    wanted = lines[:start + 1] + kept + annotation_block(chart) + lines[end:]
    return current, "\n".join(wanted) + "\n"


def write_annotations(chart: Path = CHART_DIR, *, check: bool = False) -> bool:
    """Regenerate the annotations (or only compare with --check); True when Chart.yaml was stale."""
    current, wanted = render_chart_yaml(chart)
    stale = current != wanted or not safe_write.is_regular(chart / "Chart.yaml")  # a link is never current
    if stale and not check:
        safe_write.write_text(chart / "Chart.yaml", wanted, root=chart)
    return stale


# --- version discipline ---------------------------------------------------------------------------

@dataclass(frozen=True)
class VersionCheck:
    base: str | None        # commit compared with (None: nothing to compare, e.g. no git or first commit)
    how: str                # how the base was chosen, for messages
    changed: bool           # the chart differs from the base
    base_version: str | None
    version: str

    @property
    def ok(self) -> bool:
        """chart-testing's rule: a changed chart needs a version greater than the base's by SemVer precedence
        (a downgrade, or 0.2.0-rc.1 after 0.2.0, is no bump)."""
        if self.base is None or not self.changed:
            return True
        old, new = semver_key(self.base_version or ""), semver_key(self.version)
        if old is None or new is None:
            return self.base_version != self.version
        return new > old


def _git(repo: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


#: why nothing was compared in a shallow clone (actions/checkout's default fetch-depth: 1): the history the
#: comparison needs is not there, which is not the same as a chart that is new.
SHALLOW = ("a shallow clone without the target branch or the chart's previous commit; fetch them (actions/checkout "
           "with fetch-depth: 0, or git fetch --unshallow) so the version bump can be checked")


def target_ref(repo: Path, branch: str) -> tuple[str, str | None]:
    """(ref, commit) of the target branch: the local branch, else its remote-tracking branch `origin/BRANCH`
    (what a CI checkout has: actions/checkout creates no local main), else (branch, None)."""
    for ref in (branch, f"origin/{branch}"):
        sha = _git(repo, "rev-parse", "--verify", "-q", "--end-of-options", f"{ref}^{{commit}}")
        if sha:
            return ref, sha
    return branch, None


def choose_base(repo: Path, chart_rel: str, main: str = "main") -> tuple[str | None, str]:
    """The commit whose chart a version bump is judged against, and why that one:
    1. a `main` branch that is not HEAD: `git merge-base HEAD main` (what chart-testing compares);
       the working tree, uncommitted and untracked files included, is compared with it;
    2. on main (or without one) with uncommitted changes under the chart: HEAD;
    3. otherwise the first parent of the newest first-parent commit that changed the chart."""
    if _git(repo, "rev-parse", "--verify", "-q", "HEAD") is None:
        return None, "no git history"
    head = _git(repo, "rev-parse", "HEAD")
    main, main_sha = target_ref(repo, main)
    if main_sha and main_sha != head:
        base = _git(repo, "merge-base", "HEAD", main)
        if base:
            return base, f"merge base of HEAD and {main}"
    if _git(repo, "status", "--porcelain", "--", chart_rel):
        return "HEAD", "uncommitted changes under the chart, compared with HEAD"
    last = _git(repo, "log", "-1", "--first-parent", "--format=%H", "--", chart_rel)
    if not last:
        return None, "no commit changed the chart"
    parent = _git(repo, "rev-parse", "--verify", "-q", f"{last}^1")
    if not parent and _git(repo, "rev-parse", "--is-shallow-repository") == "true":
        return None, SHALLOW
    if not parent:
        return None, "the chart's first commit"
    return parent, f"parent of {last[:12]}, the last commit that changed the chart"


def check_version_bump(chart: Path = CHART_DIR, main: str = "main") -> VersionCheck:
    repo_top = _git(chart, "rev-parse", "--show-toplevel")
    version = chart_version(chart)
    if repo_top is None:
        return VersionCheck(None, "not a git checkout", False, None, version)
    repo = Path(repo_top)
    rel = chart.resolve().relative_to(repo.resolve()).as_posix()
    base, how = choose_base(repo, rel, main)
    if base is None:
        return VersionCheck(None, how, False, None, version)
    changed = (subprocess.run(["git", "-C", str(repo), "diff", "--quiet", base, "--", rel]).returncode != 0
               or bool(_git(repo, "ls-files", "--others", "--exclude-standard", "--", rel)))
    old = _git(repo, "show", f"{base}:{rel}/Chart.yaml")
    base_version = None
    if old:
        loaded = yaml.safe_load(old)
        base_version = str(loaded.get("version")) if isinstance(loaded, dict) else None
    return VersionCheck(base, how, changed, base_version, version)


def bump_message(result: VersionCheck, chart: Path = CHART_DIR) -> str:
    now = (f"still {result.version}" if result.base_version == result.version
           else f"{result.version}, not above {result.base_version} by SemVer precedence")
    # the CHANGELOG and Artifact Hub advice only for a chart that keeps a CHANGELOG.md (E33)
    changelog = (f", add a `## NEW_VERSION` section to {chart}/CHANGELOG.md and run `cogniverse-chart annotations`"
                 if (Path(chart) / "CHANGELOG.md").is_file() else "")
    return (f"{chart}/ changed since {result.base[:12]} ({result.how}) but Chart.yaml `version` is {now}: bump `version` in {chart}/Chart.yaml (patch for fixes, minor for new features "
            f"or values, major for breaking changes){changelog}")
