"""Resolving a configured model location: hub id, local folder/file, or package.

Every encoder takes one config value for its weights. On a GPU workstation it
is a Hugging Face hub id (or a local copy); offline, it can name weights that
arrived inside an installed Python package as ``package:<module>/<subdir>``,
which resolves to a folder on disk without a hub.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ahrec.errors import ModelLoadError

PACKAGE_PREFIX = "package:"


def resolve_model_location(value: str) -> str:
    """A local path (as a string) when the value names one, else the hub id unchanged."""
    if value.startswith(PACKAGE_PREFIX):
        spec = value[len(PACKAGE_PREFIX) :]
        module, _, subdir = spec.partition("/")
        found = importlib.util.find_spec(module)
        if found is None or not found.submodule_search_locations:
            raise ModelLoadError(
                f"model {value!r}: the Python package {module!r} is not installed "
                f"(pip install {module.replace('_', '-')})"
            )
        base = Path(next(iter(found.submodule_search_locations)))
        path = base / subdir if subdir else base
        if not path.exists():
            raise ModelLoadError(f"model {value!r}: {path} does not exist inside the package")
        return str(path)
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
