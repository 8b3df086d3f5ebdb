"""One hash for a whole generated corpus, and the tools its bytes depend on.

The demo corpus is meant to be byte-identical on every run with the same
settings (whatever the worker count, job order or cache state); one short
fingerprint makes that checkable by a test, by a person comparing two
machines, or in a bug report, without shipping the corpus itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

_CHUNK = 1 << 20


def corpus_fingerprint(folder: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) over the sorted relative paths and bytes of every file under ``folder``.

    Each entry is hashed as its relative POSIX path and its content, both
    length-prefixed, so that moving bytes between a name and a file (or
    between two files) cannot give the same hash. Directories are not
    followed through symbolic links; a link is hashed as its target text, so
    that it neither disappears from the fingerprint nor pulls in files from
    outside the folder. Empty directories do not count (they carry no data).
    """
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder, cannot fingerprint it")
    entries: list[tuple[str, Path]] = []
    for directory, subdirs, files in os.walk(root, followlinks=False):
        here = Path(directory)
        names = list(files) + [d for d in subdirs if (here / d).is_symlink()]
        for name in names:
            path = here / name
            entries.append((path.relative_to(root).as_posix(), path))
    digest = hashlib.sha256()
    for relative, path in sorted(entries, key=lambda entry: entry[0]):
        name = relative.encode("utf-8", "surrogateescape")
        digest.update(len(name).to_bytes(8, "big") + name)
        if path.is_symlink():
            target = os.readlink(path).encode("utf-8", "surrogateescape")
            digest.update(b"L" + len(target).to_bytes(8, "big") + target)
            continue
        digest.update(b"F" + path.stat().st_size.to_bytes(8, "big"))
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _first_line(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        return "missing"
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def toolchain() -> str:
    """The versions that decide the corpus's bytes beyond the settings, as one line.

    The same settings give the same bytes only with the same encoders
    (ffmpeg's libx264 and AAC), speech synthesiser (espeak-ng and its data)
    and image code (OpenCV, numpy, the photos of scikit-image and
    matplotlib); a fingerprint is only comparable with the toolchain it was
    made with.
    """
    import cv2
    import matplotlib
    import numpy
    import skimage

    ffmpeg = _first_line(["ffmpeg", "-version"]).removeprefix("ffmpeg version ").split(" ")[0]
    espeak = _first_line(["espeak-ng", "--version"])
    espeak = espeak.split("text-to-speech:")[-1].split("Data at:")[0].strip()
    return (
        f"ffmpeg {ffmpeg}; espeak-ng {espeak}; opencv {cv2.__version__}; "
        f"numpy {numpy.__version__}; scikit-image {skimage.__version__}; "
        f"matplotlib {matplotlib.__version__}"
    )
