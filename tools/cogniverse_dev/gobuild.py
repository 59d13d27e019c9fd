"""Small Go programs that checks and tests run (Argo's own validator, the API server's admission-policy
code, Argo's parameter substitution, the OCI registry), each a wrapper module under tools/ with a pinned
go.mod/go.sum: built once, niced, and cached under ~/.cache/cogniverse/<name>/ by a hash of the module's
sources and the Go version, so a cold build never happens inside a test run twice. scripts/test.sh
builds them all as a stage of its own (`python -m cogniverse_dev`), and there also builds the
smoke-runner image once, so the fast tests of its build script find Go's build cache warm.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cogniverse_chart import REPO_ROOT, versions
from cogniverse_chart.errors import ToolkitError

TOOLS = REPO_ROOT / "tools"


def go() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if not found:
        raise ToolkitError("building the project's Go helpers needs a Go toolchain (go on PATH or /usr/local/go/bin/go)")
    return found


def required_version(src: Path, module: str) -> str:
    """The version of `module` that src/go.mod requires."""
    text = (src / "go.mod").read_text(encoding="utf-8")
    m = re.search(rf"^(?:require )?\s*{re.escape(module)} (v\S+)$", text, re.M)
    if not m:
        raise ToolkitError(f"{src / 'go.mod'}: no `require {module} vX.Y.Z` line")
    return m.group(1)


def check_pin(src: Path, module: str, key: str, expected: str | None = None) -> str:
    """The required version of `module`, after checking it against versions.env (`expected` derives it
    from the pin, e.g. v1.37.2 -> v0.37.2 for Kubernetes staging modules)."""
    pinned = versions.get(key)
    want = expected or pinned
    have = required_version(src, module)
    if have != want:
        raise ToolkitError(f"{src.relative_to(REPO_ROOT)}/go.mod requires {module} {have} but versions.env pins "
                           f"{key}={pinned}; update the require line to {want} (then `go mod tidy` there)")
    return have


def source_hash(src: Path) -> str:
    h = hashlib.sha256()
    for f in sorted([src / "go.mod", src / "go.sum", *src.glob("*.go")]):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    h.update(subprocess.run([go(), "env", "GOVERSION"], capture_output=True, text=True).stdout.encode())
    return h.hexdigest()[:16]


def cache_dir(name: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cogniverse" / name


def binary_path(src: Path, name: str, tag: str) -> Path:
    return cache_dir(name) / f"{tag}-{source_hash(src)}" / name


def build(src: Path, name: str, tag: str, quiet: bool = False) -> Path:
    """The cached binary of the Go module in `src`; built (niced, CGO off) if missing. `tag` names the
    pinned version in the cache path."""
    out = binary_path(src, name, tag)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs building at once: the second waits, then reuses
        if out.exists():
            return out
        if not quiet:
            print(f"building {name} {tag} (once; cached in {out.parent})", file=sys.stderr)
        tmp = out.with_suffix(".tmp")
        env = {**os.environ, "CGO_ENABLED": "0"}
        proc = subprocess.run(["nice", "-n", "10", go(), "build", "-trimpath", "-o", str(tmp), "."],
                              cwd=src, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ToolkitError(f"building {name} from {src.relative_to(REPO_ROOT)} failed; fix the toolchain or "
                               f"module cache and rerun `python -m cogniverse_dev`:\n{proc.stderr[-3000:]}")
        tmp.rename(out)
    return out


VAP_EVAL = TOOLS / "vap-eval"


def vap_eval(quiet: bool = False) -> Path:
    """The admission-policy evaluator: kube-apiserver's own ValidatingAdmissionPolicy code at the
    staging version of KUBERNETES_VERSION (v1.37.2 -> k8s.io/apiserver v0.37.2)."""
    staging = "v0." + versions.get("KUBERNETES_VERSION").lstrip("v").split(".", 1)[1]
    tag = check_pin(VAP_EVAL, "k8s.io/apiserver", "KUBERNETES_VERSION", expected=staging)
    return build(VAP_EVAL, "vap-eval", tag, quiet)


REGISTRY = TOOLS / "registry"


def registry(quiet: bool = False) -> Path:
    """The CNCF Distribution registry the packaging tests push charts to (REGISTRY_DISTRIBUTION_VERSION)."""
    tag = check_pin(REGISTRY, "github.com/distribution/distribution/v3", "REGISTRY_DISTRIBUTION_VERSION")
    return build(REGISTRY, "registry", tag, quiet)


ARGO_SUBST = TOOLS / "argo-subst"


def argo_subst(quiet: bool = False) -> Path:
    """Argo's own parameter substitution (`common.ProcessArgs`, what the workflow-controller runs before a
    resource step) at ARGO_VERSION: the security tests feed it the chart's resource templates."""
    tag = check_pin(ARGO_SUBST, "github.com/argoproj/argo-workflows/v3", "ARGO_VERSION")
    return build(ARGO_SUBST, "argo-subst", tag, quiet)


KUBE_YAML = TOOLS / "kube-yaml"


def kube_yaml(quiet: bool = False) -> Path:
    """kubectl's YAML reader (k8s.io/apimachinery's YAMLReader + ToJSON at the staging version of
    KUBERNETES_VERSION): the manifest reader's tests compare what it reads with what Kubernetes reads."""
    staging = "v0." + versions.get("KUBERNETES_VERSION").lstrip("v").split(".", 1)[1]
    tag = check_pin(KUBE_YAML, "k8s.io/apimachinery", "KUBERNETES_VERSION", expected=staging)
    return build(KUBE_YAML, "kube-yaml", tag, quiet)


SMOKE_RUNNER = REPO_ROOT / "images" / "smoke-runner"


def warm_smoke_runner() -> Path:
    """The smoke-runner image (images/smoke-runner/build.sh, cached by its own source hash), and its test
    binary compiled once: the fast tests that run build.sh and `go test` then find Go's build cache warm."""
    out = cache_dir("smoke-runner")
    proc = subprocess.run(["nice", "-n", "10", str(SMOKE_RUNNER / "build.sh"), "--out", str(out)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolkitError(f"images/smoke-runner/build.sh failed:\n{proc.stderr[-3000:]}")
    proc = subprocess.run(["nice", "-n", "10", go(), "test", "-count=1", "-run", "^$", "./..."],
                          cwd=SMOKE_RUNNER, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolkitError(f"compiling the smoke runner's tests failed:\n{proc.stderr[-3000:]}")
    return out
