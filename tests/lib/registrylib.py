"""A real OCI registry on loopback for the package tests, run as a user would run it: the CNCF Distribution
registry built from its Go module (tools/registry, pinned by REGISTRY_DISTRIBUTION_VERSION), serving HTTPS
with a certificate from a CA made here (openssl) and htpasswd (bcrypt) basic auth. Also the throw-away PGP
key Helm signs with. Everything the registry needs is started and stopped here, by PID.

    binary = build_registry()                  # cached under ~/.cache/cogniverse/registry/VERSION-KEY/
    with LocalRegistry(binary, tmp_path) as reg:
        reg.url, reg.ca_file, reg.username, reg.password
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest

from cogniverse_chart import REPO_ROOT, versions
from cogniverse_dev import gobuild
from cogniverse_chart.errors import ToolkitError

MODULE_DIR = REPO_ROOT / "tools" / "registry"
MODULE_PATH = "github.com/distribution/distribution/v3"


class RegistryUnavailable(RuntimeError):
    """The registry could not be built or started; the message says exactly why."""


def pinned_version() -> str:
    return versions.get("REGISTRY_DISTRIBUTION_VERSION")


def gomod_version() -> str:
    return gobuild.required_version(MODULE_DIR, MODULE_PATH)


def build_registry() -> tuple[Path, float, bool]:
    """(binary, seconds, was_cached): the wrapper module built and cached by cogniverse_dev.gobuild."""
    try:
        tag = gobuild.check_pin(MODULE_DIR, MODULE_PATH, "REGISTRY_DISTRIBUTION_VERSION")
        cached = gobuild.binary_path(MODULE_DIR, "registry", tag).is_file()
        t0 = time.perf_counter()
        out = gobuild.build(MODULE_DIR, "registry", tag)
    except ToolkitError as exc:
        raise RegistryUnavailable(str(exc)) from None
    return out, 0.0 if cached else time.perf_counter() - t0, cached


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RegistryUnavailable(f"openssl {args[0]} failed: {proc.stderr.strip()}")


def make_tls(workdir: Path) -> tuple[Path, Path, Path]:
    """(ca.crt, server.crt, server.key): a CA and a server certificate for 127.0.0.1 and localhost."""
    workdir.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=cogniverse test CA",
             "-keyout", "ca.key", "-out", "ca.crt", cwd=workdir)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
             "-keyout", "server.key", "-out", "server.csr", cwd=workdir)
    (workdir / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                     "extendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "san.ext", "-out", "server.crt", cwd=workdir)
    return workdir / "ca.crt", workdir / "server.crt", workdir / "server.key"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalRegistry:
    binary: Path
    workdir: Path
    username: str = "chart-publisher"
    password: str = "s3cret-for-tests-only"

    def __post_init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"oci://{self.host}/charts"

    def _config(self) -> Path:
        self.ca_file, cert, key = make_tls(self.workdir / "tls")
        htpasswd = self.workdir / "htpasswd"
        digest = bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=10)).decode()
        htpasswd.write_text(f"{self.username}:{digest}\n")
        self.port = _free_port()
        config = self.workdir / "config.yml"
        config.write_text(f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {self.workdir / 'data'}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{self.port}
  tls:
    certificate: {cert}
    key: {key}
auth:
  htpasswd:
    realm: cogniverse-test
    path: {htpasswd}
""")
        return config

    def start(self, timeout: float = 30) -> "LocalRegistry":
        config = self._config()
        self.log = (self.workdir / "registry.log").open("w")
        self.proc = subprocess.Popen([str(self.binary), "serve", str(config)], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"https://{self.host}/v2/", context=ctx, timeout=2)
            except urllib.error.HTTPError as exc:
                if exc.code == 401:   # up, and asking for credentials as configured
                    return self
            except OSError:
                time.sleep(0.1)
                continue
            break
        log = (self.workdir / "registry.log").read_text()[-2000:]
        self.stop()
        raise RegistryUnavailable(f"the registry on {self.host} did not answer 401 on /v2/ within {timeout}s; "
                                  f"its log:\n{log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()           # by PID: only the process started here
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
        self.proc = None

    def __enter__(self) -> "LocalRegistry":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class TestKey:
    name: str
    secring: Path      # legacy secret keyring Helm signs with
    pubring: Path      # public keyring Helm verifies with
    gnupghome: Path


def make_gpg_key(workdir: Path, name: str = "Cogniverse Chart Test") -> TestKey:
    """A fresh RSA signing key without passphrase in its own GNUPGHOME, exported as legacy keyrings."""
    home = workdir / "gnupg"
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    uid = f"{name} <chart-test@cogniverse.invalid>"

    def gpg(*args: str) -> bytes:
        proc = subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", *args],
                              env=env, capture_output=True)
        if proc.returncode != 0:
            raise RuntimeError(f"gpg {' '.join(args[:1])} failed: {proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout

    gpg("--quick-gen-key", uid, "rsa2048", "sign", "1d")
    secring, pubring = workdir / "secring.gpg", workdir / "pubring.gpg"
    secring.write_bytes(gpg("--export-secret-keys", uid))
    pubring.write_bytes(gpg("--export", uid))
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)  # the agent this GNUPGHOME started
    return TestKey(name, secring, pubring, home)


# --- pytest fixtures (imported by the test modules that push to the registry) --------------------

@pytest.fixture(scope="module")
def registry_binary() -> Path:
    if shutil.which("go") is None:
        pytest.skip("no Go toolchain: the OCI registry is built from its Go module")
    binary, seconds, cached = build_registry()   # a failed build fails, naming why
    print(f"\nregistry {pinned_version()}: {'cached' if cached else f'built in {seconds:.1f}s'}")
    return binary


@pytest.fixture(scope="module")
def registry(registry_binary: Path, tmp_path_factory: pytest.TempPathFactory):
    with LocalRegistry(registry_binary, tmp_path_factory.mktemp("registry")) as reg:
        yield reg


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> TestKey:
    if shutil.which("gpg") is None:
        pytest.skip("no gpg: cannot make the signing key")
    return make_gpg_key(tmp_path_factory.mktemp("key"))
