"""Loading a configured model: where its weights are, and one message when they fail to load.

Every pretrained model (the encoders, the speech recogniser, the fine-tuned
models) takes one config value for its weights and loads it through
``load_model``, so a bad value fails the same way everywhere. On a GPU
workstation the value is a Hugging Face hub id (or a local copy); offline, it
can name weights that arrived inside an installed Python package as
``package:<module>/<subdir>``, which resolves to a folder on disk without a hub.

Resolving never imports or runs anything: ``<module>`` must be a top-level
module name, looked up on ``sys.path`` with ``PathFinder.find_spec`` (which
reads folder listings only). ``importlib.util.find_spec("a.b")`` would import
``a`` first, running its ``__init__``; a value from an exported ensemble's
configuration must not be able to do that.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib.machinery import PathFinder
from pathlib import Path, PurePosixPath
from typing import TypeVar

from ahrec.errors import ModelLoadError

T = TypeVar("T")

PACKAGE_PREFIX = "package:"
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ACCEPTED_FORMS = (
    "a hub id (org/name), a local folder or file, or package:<module>/<subfolder> "
    "with <module> a top-level installed package (no dots)"
)


def package_folder(value: str) -> Path:
    """The folder a ``package:<module>[/<subfolder>]`` value names, found without importing.

    Raises ModelLoadError for anything but a top-level module name followed by
    a relative subfolder that stays inside the package.
    """
    spec = value[len(PACKAGE_PREFIX) :]
    module, _, subdir = spec.partition("/")
    if not MODULE_NAME.fullmatch(module):
        raise ModelLoadError(
            f"model {value!r}: {module!r} is not a top-level module name; accepted forms: "
            f"{ACCEPTED_FORMS}"
        )
    sub = PurePosixPath(subdir)
    if subdir and (sub.is_absolute() or ".." in sub.parts or "\\" in subdir):
        raise ModelLoadError(
            f"model {value!r}: the subfolder must stay inside the package (no '..', not "
            f"absolute); accepted forms: {ACCEPTED_FORMS}"
        )
    found = PathFinder.find_spec(module)
    if found is None or not found.submodule_search_locations:
        raise ModelLoadError(
            f"model {value!r}: the Python package {module!r} is not installed "
            f"(pip install {module.replace('_', '-')})"
        )
    base = Path(next(iter(found.submodule_search_locations)))
    path = base / subdir if subdir else base
    if not path.exists():
        raise ModelLoadError(f"model {value!r}: {path} does not exist inside the package")
    if not path.resolve().is_relative_to(base.resolve()):
        raise ModelLoadError(f"model {value!r}: {path} leads outside the package")
    return path


def resolve_model_location(value: str) -> str:
    """A local path (as a string) when the value names one, else the hub id unchanged."""
    if value.startswith(PACKAGE_PREFIX):
        return str(package_folder(value))
    expanded = Path(value).expanduser()
    if expanded.exists():
        return str(expanded)
    if value.startswith((".", "/", "~")):
        raise ModelLoadError(f"model {value!r}: no such file or folder")
    return value


def describe_load_failure(value: str, exc: Exception) -> ModelLoadError:
    """A message that tells an offline user what to do instead of a hub stack trace."""
    return ModelLoadError(
        f"could not load model {value!r}: {type(exc).__name__}: {exc}\n"
        "If this is a hub id and this machine is offline, download the model elsewhere "
        "(e.g. `hf download <id> --local-dir <folder>`), copy the folder here and put the "
        "folder's path in config.yaml instead of the hub id."
    )


def load_model(value: str, load: Callable[[str], T], location: str | Path | None = None) -> T:
    """``load(location)`` for the configured model ``value``, failures in one message.

    ``location`` defaults to where ``value`` resolves (``resolve_model_location``);
    a fine-tuned model's own saved backbone passes its folder instead. A bad
    value raises its own ``ModelLoadError``; anything ``load`` raises (hub,
    file-format and config errors alike) becomes ``describe_load_failure``'s.
    """
    where = resolve_model_location(value) if location is None else str(location)
    try:
        return load(where)
    except ModelLoadError:
        raise
    except Exception as exc:  # hub, file-format and config errors all land here
        raise describe_load_failure(value, exc) from exc
