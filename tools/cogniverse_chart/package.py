"""Ship the chart the way charts are shipped: package it at the version in Chart.yaml, sign it with a PGP
key (`helm package --sign`), verify the signature (`helm verify`), log in to an OCI registry and push the
package with its provenance file (`helm push ... oci://HOST/PATH`); and pull it back, verified.

Works with Helm 3 and Helm 4 (the same flags). Every step is a function the tests call; `run_pipeline`
is what `cogniverse-chart package` runs, with the seconds each step took.

Signing keys: Helm reads a *legacy* GnuPG secret keyring (`gpg --export-secret-keys > secring.gpg`),
not GnuPG 2's keybox; `--keyring` names that file when signing and a public keyring when verifying.

Bounds: every Helm run is stopped when the pipeline's `Deadline` runs out (a registry that completes TLS
and then stalls); the files Helm reads for us (keyrings, passphrase, CA bundle) are checked first
(`check_inputs`: regular files, bounded); a password goes to Helm on stdin only, and a login writes its
credentials into a temporary registry config that `logged_in` removes after the push.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

from . import CHART_DIR, io_limits
from .errors import HelmError, ToolkitError
from .helm import Helm
from .io_limits import Deadline
from .release import chart_meta

_OCI = re.compile(r"^oci://([^/\s]+)(/[^\s]*)?$")


@dataclass(frozen=True)
class Signing:
    key: str                 # the key's name (uid) or email
    keyring: Path            # legacy secret keyring (secring.gpg)
    passphrase_file: Path | None = None


@dataclass(frozen=True)
class Registry:
    url: str                 # oci://HOST[:PORT]/PATH
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    config: Path | None = None   # helm --registry-config (credentials file); None: Helm's default

    @property
    def host(self) -> str:
        return parse_oci(self.url)[0]

    def flags(self) -> list[str]:
        return ["--ca-file", str(self.ca_file)] if self.ca_file else []

    def config_flags(self) -> list[str]:
        return ["--registry-config", str(self.config)] if self.config else []


#: the default whole deadline of `package` (packaging, signing, login and push together)
DEFAULT_TIMEOUT = 300.0


def _left(deadline: Deadline | None, what: str) -> float:
    """Seconds a Helm run may take: what is left of the deadline (the Helm default without one)."""
    from .helm import DEFAULT_TIMEOUT as HELM_DEFAULT

    return HELM_DEFAULT if deadline is None else deadline.check(what)


def check_inputs(signing: "Signing | None", verify_keyring: Path | None, registry: "Registry | None") -> None:
    """Every file Helm will read for us is a regular file of a sane size: a FIFO would block Helm and a
    device (or a giant file) would make it read forever; one line naming the option otherwise."""
    files: list[tuple[Path | None, str, int]] = [(verify_keyring, "--verify-keyring", io_limits.MAX_TEXT_BYTES)]
    if signing:
        files += [(signing.keyring, "--keyring", io_limits.MAX_TEXT_BYTES),
                  (signing.passphrase_file, "--passphrase-file", io_limits.MAX_SMALL_BYTES)]
    if registry:
        files += [(registry.ca_file, "--ca-file", io_limits.MAX_SMALL_BYTES),
                  (registry.config, "--registry-config", io_limits.MAX_SMALL_BYTES)]
    for path, option, limit in files:
        if path is None or (option in ("--keyring", "--registry-config") and not path.exists()):
            continue  # a missing signing keyring gets its own message; Helm creates a registry config
        if io_limits.check_file(path, option).st_size > limit:
            raise io_limits.too_large(f"{option} {path}", limit)


@contextmanager
def logged_in(helm: Helm, registry: "Registry", deadline: Deadline | None = None) -> Iterator["Registry"]:
    """The registry, logged in for this run only: `helm registry login` (password on stdin) writes into a
    temporary registry config in a private directory, removed on the way out (pushed or failed), so no
    credentials stay on disk. Without a username: the registry as given (Helm's own login, if any)."""
    if not registry.username:
        yield registry
        return
    tmp = Path(tempfile.mkdtemp(prefix="cogniverse-registry-"))  # mode 0700
    try:
        session = replace(registry, config=tmp / "config.json")
        login(helm, session, deadline)
        yield session
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Result:
    package: Path
    version: str
    helm: str
    ref: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def parse_oci(url: str) -> tuple[str, str]:
    m = _OCI.match(url)
    if not m:
        raise ToolkitError(f"registry URL {url!r} is not of the form oci://HOST[:PORT]/PATH")
    return m[1], (m[2] or "").rstrip("/")


def _fail(helm: Helm, what: str, proc, hint: str) -> HelmError:
    detail = (proc.stderr or proc.stdout).strip().splitlines()
    last = detail[-1] if detail else f"exit {proc.returncode}"
    return HelmError(f"{helm.label}: {what} failed: {last}; {hint}")


#: What Helm and the registry say when credentials are missing or wrong. 401 only as a word: Helm's
#: other errors quote digests and URLs, and "sha256:...401..." or a port like 34012 is no refusal.
_UNAUTHORIZED = re.compile(r"\b401\b|unauthorized|authentication required|credential not found")


def _unauthorized(text: str) -> bool:
    """Helm's output (lower-cased) says the registry refused the credentials."""
    return _UNAUTHORIZED.search(text) is not None


def package(helm: Helm, dest: Path, *, chart: Path = CHART_DIR, signing: Signing | None = None,
            deadline: Deadline | None = None) -> Path:
    """`helm package` (with --sign when signing is given) into dest; returns the .tgz, named by Chart.yaml."""
    meta = chart_meta(chart)
    dest.mkdir(parents=True, exist_ok=True)
    args = ["package", str(chart), "--destination", str(dest)]
    if signing:
        if not signing.keyring.is_file():
            raise ToolkitError(f"signing keyring {signing.keyring} does not exist; export one with "
                               f"`gpg --export-secret-keys KEY > secring.gpg`")
        args += ["--sign", "--key", signing.key, "--keyring", str(signing.keyring)]
        if signing.passphrase_file:
            args += ["--passphrase-file", str(signing.passphrase_file)]
    proc = helm.run(args, check=False, timeout=_left(deadline, "packaging"))
    if proc.returncode != 0:
        hint = ("check --key (the key's name or email) and that --keyring is a legacy secret keyring "
                "(`gpg --export-secret-keys`)") if signing else "check the chart with `cogniverse-chart lint`"
        raise _fail(helm, f"packaging {chart}", proc, hint)
    tgz = dest / f"{meta['name']}-{meta['version']}.tgz"
    if not tgz.is_file():
        raise ToolkitError(f"{helm.label} package did not write {tgz}")
    return tgz


def verify(helm: Helm, tgz: Path, keyring: Path, deadline: Deadline | None = None) -> None:
    """`helm verify`: the package must have its .prov file, signed by a key in `keyring`, with its digest."""
    prov = Path(f"{tgz}.prov")
    if not prov.is_file():
        raise ToolkitError(f"{tgz} is not signed: no provenance file {prov.name} beside it; "
                           f"package it with `cogniverse-chart package --sign`")
    proc = helm.run(["verify", str(tgz), "--keyring", str(keyring)], check=False, timeout=_left(deadline, "verifying"))
    if proc.returncode != 0:
        text = (proc.stderr + proc.stdout).lower()
        if "sha256 sum does not match" in text or "digest" in text and "match" in text:
            raise ToolkitError(f"{tgz} does not match its signature in {prov.name} (changed after signing); "
                               f"do not install it, package and sign it again")
        raise _fail(helm, f"verifying {tgz}", proc,
                    f"the signature is not from a key in {keyring}, or the provenance file is damaged")


def login(helm: Helm, registry: Registry, deadline: Deadline | None = None) -> None:
    if not registry.username or registry.password is None:
        raise ToolkitError(f"logging in to {registry.host} needs a username and a password")
    proc = helm.run(["registry", "login", registry.host, "--username", registry.username, "--password-stdin",
                     *registry.flags(), *registry.config_flags()], input=registry.password, check=False,
                    timeout=_left(deadline, f"logging in to {registry.host}"))
    if proc.returncode != 0:
        text = (proc.stderr + proc.stdout).lower()
        if _unauthorized(text):
            raise ToolkitError(f"registry {registry.host} refused the login of user {registry.username!r} "
                               f"(401 unauthorized): check the username and password")
        raise _fail(helm, f"logging in to {registry.host}", proc,
                    "check the host and port, and --ca-file when the registry's certificate is private")


def push(helm: Helm, tgz: Path, registry: Registry, keyring: Path, deadline: Deadline | None = None) -> str:
    """Verify the signature, then `helm push` (the .prov goes along); returns the pushed reference."""
    verify(helm, tgz, keyring, deadline)
    proc = helm.run(["push", str(tgz), registry.url.rstrip("/"), *registry.flags(), *registry.config_flags()],
                    check=False, timeout=_left(deadline, f"pushing to {registry.host}"))
    if proc.returncode != 0:
        text = (proc.stderr + proc.stdout).lower()
        if _unauthorized(text):
            raise ToolkitError(f"registry {registry.host} refused the push (unauthorized): log in first "
                               f"(`--username` and a password on stdin)")
        raise _fail(helm, f"pushing {tgz.name} to {registry.url}", proc, "check the registry URL and --ca-file")
    m = re.search(r"Pushed:\s*(\S+)", proc.stdout + proc.stderr)
    return m[1] if m else f"{registry.url.rstrip('/')}/{tgz.name.rsplit('-', 1)[0]}"


def pull(helm: Helm, ref: str, version: str, dest: Path, *, registry: Registry, keyring: Path,
         deadline: Deadline | None = None) -> Path:
    """`helm pull --verify` of oci://HOST/PATH/CHART at version into dest; returns the verified .tgz."""
    parse_oci(ref)
    dest.mkdir(parents=True, exist_ok=True)
    proc = helm.run(["pull", ref, "--version", version, "--destination", str(dest), "--verify",
                     "--keyring", str(keyring), *registry.flags(), *registry.config_flags()], check=False,
                    timeout=_left(deadline, f"pulling from {registry.host}"))
    if proc.returncode != 0:
        text = (proc.stderr + proc.stdout).lower()
        if _unauthorized(text):
            raise ToolkitError(f"registry {registry.host} refused to serve {ref} (unauthorized): log in first")
        raise _fail(helm, f"pulling {ref}:{version}", proc,
                    "the chart must exist at that version, with a provenance file signed by a key in the keyring")
    name = ref.rstrip("/").rsplit("/", 1)[-1]
    tgz = dest / f"{name}-{version}.tgz"
    if not tgz.is_file():
        raise ToolkitError(f"{helm.label} pull did not write {tgz}")
    return tgz


def run_pipeline(helm: Helm, dest: Path, *, chart: Path = CHART_DIR, signing: Signing | None = None,
                 verify_keyring: Path | None = None, registry: Registry | None = None,
                 deadline: Deadline | None = None) -> Result:
    """package (+sign) -> verify -> login -> push, timing each step, all within `deadline`."""
    check_inputs(signing, verify_keyring, registry)
    io_limits.check_chart(chart)
    if registry and not signing:
        raise ToolkitError("pushing needs a signed package: pass --sign with --key and --keyring "
                           "(an unsigned chart is never pushed)")
    meta = chart_meta(chart)
    t0 = time.perf_counter()
    tgz = package(helm, dest, chart=chart, signing=signing, deadline=deadline)
    result = Result(tgz, meta["version"], helm.label, seconds={"package": time.perf_counter() - t0})
    if signing:
        keyring = verify_keyring or signing.keyring
        t0 = time.perf_counter()
        verify(helm, tgz, keyring, deadline)
        result.seconds["verify"] = time.perf_counter() - t0
    if registry:
        t0 = time.perf_counter()
        with logged_in(helm, registry, deadline) as session:
            result.seconds["login"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            result.ref = push(helm, tgz, session, verify_keyring or signing.keyring, deadline)  # type: ignore[union-attr]
            result.seconds["push"] = time.perf_counter() - t0
    return result
