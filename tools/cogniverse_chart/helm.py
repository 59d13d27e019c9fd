"""Locate pinned `helm` binaries (Helm 3 and Helm 4) and run them.

Lookup order for major version N: $HELM<N> (when set it must be a Helm N: no fallback), .tools/bin/helm<N>
(installed by scripts/bootstrap.sh; only when running from a source checkout), then `helm` on PATH if its
major version is N.
`find_helm()` without a major prefers $HELM (when set it must be a Helm >= 3.14: no fallback), then PATH `helm`,
then $HELM4, $HELM3, then the pinned ones.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from . import IN_CHECKOUT, REPO_ROOT
from .errors import HelmError, ToolkitError

TOOLS_BIN = REPO_ROOT / ".tools" / "bin" if IN_CHECKOUT else None
MIN_HELM3 = (3, 14)
#: seconds any helm run may take unless the caller says otherwise (a render takes well under one)
DEFAULT_TIMEOUT = 600.0
#: the most of Helm's output (stdout, stderr each) read back: the chart renders to well under 1 MiB
MAX_OUTPUT_BYTES = 256 * 2**20
_VERSION_RE = re.compile(r"v(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class Helm:
    path: str
    version: tuple[int, int, int]

    @property
    def major(self) -> int:
        return self.version[0]

    @property
    def label(self) -> str:
        return "helm v%d.%d.%d" % self.version

    def run(self, args: list[str], *, input: str | None = None, check: bool = True,
            timeout: float = DEFAULT_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run helm; a helm still running after `timeout` s is killed and named (a stalled registry or
        API server, a values file Helm chews on for minutes) instead of blocking the command forever. Its
        output goes to temporary files, read back only up to MAX_OUTPUT_BYTES (not into memory unbounded)."""
        what = f"{self.label} {' '.join(args[:2])}"
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
                tempfile.NamedTemporaryFile(prefix="kubeconfig-") as empty:
            env = _offline_env(empty.name) if args and args[0] in OFFLINE_COMMANDS else None
            try:
                code = subprocess.run([self.path, *args], input=None if input is None else input.encode(),
                                      stdout=out, stderr=err, timeout=timeout, env=env).returncode
            except subprocess.TimeoutExpired:
                raise HelmError(f"{what} did not finish within {round(timeout, 1):g} s and was "
                                f"stopped (a registry or API server that does not answer?)") from None
            texts = []
            for f in (out, err):
                if f.tell() > MAX_OUTPUT_BYTES:
                    raise HelmError(f"{what} printed more than {MAX_OUTPUT_BYTES:,} bytes; refused (values that "
                                    f"multiply the chart's objects or strings?)")
                f.seek(0)
                texts.append(f.read().decode("utf-8", errors="replace"))
        proc = subprocess.CompletedProcess([self.path, *args], code, texts[0], texts[1])
        if check and proc.returncode != 0:
            chart = args[2] if args[0] == "template" and len(args) > 2 else None
            raise HelmError(f"{self.label} {' '.join(args[:2])} failed:\n{proc.stderr.strip()}", chart)
        return proc


#: helm commands that need no cluster: they run with KUBECONFIG an empty file (KUBECONFIG=/dev/zero made
#: `helm template` grow to gigabytes; a FIFO made it wait forever)
OFFLINE_COMMANDS = ("template", "lint", "version")
#: Helm's own files it may read during those commands: a FIFO or device there is refused by name
_HELM_FILES = ("HELM_REPOSITORY_CONFIG", "HELM_REGISTRY_CONFIG", "HELM_REPOSITORY_CACHE", "HELM_CACHE_HOME",
               "HELM_CONFIG_HOME", "HELM_DATA_HOME")


def _offline_env(kubeconfig: str) -> dict[str, str]:
    import stat

    env = dict(os.environ, KUBECONFIG=kubeconfig)
    env.pop("HELM_KUBECONTEXT", None)
    for key in _HELM_FILES:
        value = env.get(key)
        try:
            mode = os.stat(value).st_mode if value else None
        except OSError:
            continue  # missing: Helm makes do (or says so itself)
        if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ToolkitError(f"${key}={value}: not a regular file or folder (a FIFO or device would make helm "
                               f"wait or read forever); unset it or point it at a file")
    return env


#: helm binaries whose `version --short` failed, with the last line of what they said
_FAILED: dict[str, str] = {}


@functools.cache
def _probe(path: str) -> Helm | None:
    try:
        with tempfile.NamedTemporaryFile(prefix="kubeconfig-") as empty:  # `helm version` reads KUBECONFIG too
            proc = subprocess.run([path, "version", "--short"], capture_output=True, text=True, timeout=30,
                                  env=_offline_env(empty.name))
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = proc.stdout
    m = _VERSION_RE.search(out)
    if not m:
        if proc.returncode and proc.stderr.strip():  # a helm that cannot start (HELM_DRIVER=bogus): said (E14)
            _FAILED[path] = proc.stderr.strip().splitlines()[-1][:200]
        return None
    version = (int(m[1]), int(m[2]), int(m[3]))
    if version[0] == 3 and version[:2] < MIN_HELM3:
        return None
    return Helm(path, version)


def _candidates(major: int | None) -> list[str]:
    names: list[str | None] = []
    if major is None:
        names += [os.environ.get("HELM"), shutil.which("helm"), os.environ.get("HELM4"), os.environ.get("HELM3")]
        names += [str(TOOLS_BIN / "helm3"), str(TOOLS_BIN / "helm4")] if TOOLS_BIN else []
    else:
        names += [os.environ.get(f"HELM{major}"), TOOLS_BIN and str(TOOLS_BIN / f"helm{major}"), shutil.which("helm")]
    return [n for n in names if n]


def find_helm(major: int | None = None) -> Helm:
    """Return a usable helm (of the given major version), or raise ToolkitError saying how to get one."""
    want = f"Helm {major}" if major else "Helm (>= 3.14)"
    named = os.environ.get(f"HELM{major or ''}")
    if named:  # the user's choice (for this major): a wrong one is said, not replaced by another binary (D35)
        helm = _probe(named)
        if helm is None or (major is not None and helm.major != major):
            what = f"it is {helm.label}" if helm else f"`version --short` names no {want}"
            raise ToolkitError(f"${'HELM' + str(major or '')}={named[:200]!r}: not a {want} binary ({what}); point it "
                               f"at one or unset it")
    for path in _candidates(major):
        helm = _probe(path)
        if helm and (major is None or helm.major == major):
            return helm
    failed = next(((path, said) for path in _candidates(major) if (said := _FAILED.get(path))), None)
    if failed:
        raise ToolkitError(f"{failed[0]} is there but `helm version` failed: {failed[1]} (check the HELM_* settings "
                           f"of the environment)")
    raise ToolkitError(f"no {want} binary found; put helm on PATH or set $HELM{major or ''}")


def available_helms() -> list[Helm]:
    """Every distinct helm major version we can find (for test matrices); a $HELM<N> that is no Helm N is an
    error (the user named it), not a major left out."""
    found = []
    for major in (3, 4):
        try:
            found.append(find_helm(major))
        except ToolkitError:
            if os.environ.get(f"HELM{major}"):
                raise
    return found
