"""Options and kind tables: how every configurable thing is declared once.

Two ideas carry the whole configuration:

* An **options class** is a frozen dataclass whose fields are what a user may
  set for one thing (an encoder, a model, a detector...). A field's type and
  its metadata (bounds, choices, a one-line description) say what is valid;
  ``parse_options`` checks a config mapping against it, one message per
  problem, with a "did you mean" for typos. The configuration reference
  (``docs/configuration.md``) is generated from the same fields.
* A **kind table** maps the value of a ``kind:`` key to one row: the options
  class, the module that implements it, and whether it runs a neural network
  (which makes its job ask for a GPU on CUDA). Domain tables add what their
  domain needs (an encoder's modality, a model's input). Validation,
  dispatch, GPU requests and the conda environment test all read the rows, so
  adding a kind means adding its module and its row.

Kept free of heavy imports: the Snakefile validates the configuration with it
at parse time.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import types
import typing
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ahrec.errors import ConfigError, quote

T = TypeVar("T")

# --- declaring options ---------------------------------------------------------


def option(
    default: Any = dataclasses.MISSING,
    doc: str = "",
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: Sequence[Any] | None = None,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field with what validation and the reference need to know about it.

    ``low``/``high`` bound numbers (and the items of a tuple), inclusive unless
    ``low_open``/``high_open``; ``choices`` lists the values a string may take.
    """
    metadata = {
        "doc": doc,
        "low": low,
        "high": high,
        "low_open": low_open,
        "high_open": high_open,
        "choices": tuple(choices) if choices is not None else None,
    }
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


# The largest count any option takes unless it says less: what a C int holds, so that a
# size or a number of steps reaches torch, NumPy or a solver as a value they accept.
MAX_COUNT = 2**31 - 1
# Seeds go to NumPy's RandomState (Optuna's samplers, scikit-learn), which takes
# 0 <= seed < 2**32, and to torch (< 2**64): one range for every seed.
MAX_SEED = 2**32 - 1
# Any integer option at all: one that fits 64 bits (NumPy and torch refuse more).
_INT64 = 2**63 - 1


def count(default: int, doc: str = "", *, low: int = 1, high: int | None = MAX_COUNT) -> Any:
    """An integer, at least 1 unless ``low`` says otherwise, at most ``MAX_COUNT`` unless
    ``high`` says otherwise."""
    return option(default, doc, low=low, high=high)


def random_seed(default: int, doc: str = "") -> Any:
    """A random seed: an integer in [0, MAX_SEED], the range every library seeded takes.

    Checked when the configuration is read, so that a seed of 2**64 is one message then,
    not a traceback when training starts.
    """
    return option(default, doc, low=0, high=MAX_SEED)


def number(
    default: float | None,
    doc: str = "",
    *,
    low: float | None = 0.0,
    high: float | None = None,
    **kw: Any,
) -> Any:
    """A real number, not negative unless ``low`` says otherwise."""
    return option(default, doc, low=low, high=high, **kw)


def fraction(default: float, doc: str = "") -> Any:
    """A share in [0, 1): dropout, label smoothing."""
    return option(default, doc, low=0.0, high=1.0, high_open=True)


def choice(default: str, choices: Sequence[str], doc: str = "") -> Any:
    return option(default, doc, choices=choices)


def did_you_mean(key: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or nothing."""
    hint = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
    return f" (did you mean '{hint[0]}'?)" if hint else ""


def shown_key(key: Any) -> str:
    """A key as a message shows it: a plain name as it is, anything else quoted on one line.

    YAML keys may be integers, nulls or strings holding a line break; printed
    raw, such a key would break the message's one line or hide itself.
    """
    plain = isinstance(key, str) and key.isprintable() and 0 < len(key) <= 80
    return key if plain else quote(key)


def key_order(path: Iterable[Any]) -> list[tuple[int, Any]]:
    """A sort key for paths whose parts mix integers (list positions) and names."""
    return [
        (0, p) if isinstance(p, int) and not isinstance(p, bool) else (1, repr(p)) for p in path
    ]


def unknown_key(where: str, key: Any, known: Iterable[str], what: str = "key") -> str:
    """The one message for a key that is not allowed here."""
    known = sorted(str(k) for k in known)
    valid = f"; valid {what}s: {', '.join(known)}" if known else f"; this takes no {what}s"
    return f"{where}: unknown {what} '{shown_key(key)}'{did_you_mean(str(key), known)}{valid}"


# --- checking options ------------------------------------------------------------


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _meta(cls: type, name: str) -> Mapping[str, Any]:
    """A field's metadata; a subclass that only changes a default inherits its parent's."""
    for klass in cls.__mro__:
        fields = getattr(klass, "__dataclass_fields__", {})
        if name in fields and fields[name].metadata:
            return fields[name].metadata
    return {}


def _strip_optional(hint: Any) -> tuple[Any, bool]:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"unsupported option type {hint!r}")
        return rest[0], True
    return hint, False


def _describe_type(hint: Any) -> str:
    if hint is bool:
        return "true or false"
    if hint is int:
        return "an integer"
    if hint is float:
        return "a number"
    if hint is str:
        return "a string"
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe_type(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) is dict:
        return (
            f"a mapping of names to {_describe_type(typing.get_args(hint)[1]).removeprefix('a ')}s"
        )
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        item = _describe_type(args[0]).removeprefix("an ").removeprefix("a ")
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a non-empty list of {item}s"
        return f"a list of {len(args)} {item}s"
    return str(hint)


def _scalar(where: str, hint: Any, value: Any) -> tuple[Any, str | None]:
    if hint is bool:
        return value, None if isinstance(
            value, bool
        ) else f"{where}: expected true or false, got {quote(value)}"
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return value, f"{where}: expected an integer, got {quote(value)}"
        return value, None
    if hint is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                return value, f"{where}: expected a number, got {quote(value)}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value, f"{where}: expected a number, got {quote(value)}"
        if value != value or value in (float("inf"), float("-inf")):
            return value, f"{where}: expected a finite number, got {quote(value)}"
        return float(value), None
    if hint is str:
        if not isinstance(value, str) or not value:
            return value, f"{where}: expected a non-empty string, got {quote(value)}"
        return value, None
    raise TypeError(f"{where}: unsupported option type {hint!r}")


def _bounds(where: str, value: Any, meta: Mapping[str, Any]) -> str | None:
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        return f"{where}: must be one of {', '.join(map(str, choices))}, got {quote(value)}{did_you_mean(value, choices)}"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    low, high = meta.get("low"), meta.get("high")
    if low is not None and (value <= low if meta.get("low_open") else value < low):
        return (
            f"{where}: must be {'above' if meta.get('low_open') else 'at least'} {low}, got {value}"
        )
    if high is not None and (value >= high if meta.get("high_open") else value > high):
        return f"{where}: must be {'below' if meta.get('high_open') else 'at most'} {high}, got {value}"
    if isinstance(value, int) and abs(value) > _INT64:  # NumPy and torch take 64 bits at most
        return f"{where}: {value} does not fit 64 bits; expected a smaller integer"
    return None


def check_value(
    where: str, hint: Any, value: Any, meta: Mapping[str, Any]
) -> tuple[Any, str | None]:
    """``value`` converted to the field's type (lists to tuples, 1e-3 strings to floats), or why not."""
    hint, optional = _strip_optional(hint)
    if value is None:
        return None, None if optional else f"{where}: must be set ({_describe_type(hint)})"
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        # One number for all or a mapping of one each: the alternative of the value's
        # shape says what is wrong with it.
        alternatives = typing.get_args(hint)
        mapping = [a for a in alternatives if typing.get_origin(a) is dict]
        scalar = [a for a in alternatives if typing.get_origin(a) is not dict]
        if len(mapping) != 1 or len(scalar) != 1:
            raise TypeError(f"{where}: unsupported option type {hint!r}")
        if isinstance(value, Mapping):
            return check_value(where, mapping[0], value, meta)
        converted, problem = check_value(where, scalar[0], value, meta)
        if problem and problem.startswith(f"{where}: expected "):
            problem = f"{where}: expected {_describe_type(hint)}, got {quote(value)}"
        return converted, problem
    if typing.get_origin(hint) is dict:
        _, value_hint = typing.get_args(hint)
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            return (
                value,
                f"{where}: expected a mapping of names to {_describe_type(value_hint)}s, got {quote(value)}",
            )
        converted = {}
        for key, item in value.items():
            item, problem = _scalar(f"{where}.{key}", value_hint, item)
            problem = problem or _bounds(f"{where}.{key}", item, meta)
            if problem:
                return value, problem
            converted[key] = item
        return converted, None
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        variadic = len(args) == 2 and args[1] is Ellipsis
        if not isinstance(value, list | tuple) or not value:
            return value, f"{where}: expected {_describe_type(hint)}, got {quote(value)}"
        if not variadic and len(value) != len(args):
            return value, f"{where}: expected {_describe_type(hint)}, got {quote(value)}"
        items = []
        for index, item in enumerate(value):
            item_hint = args[0] if variadic else args[index]
            converted, problem = _scalar(where, item_hint, item)
            if problem is None:
                problem = _bounds(where, converted, meta)
            if problem is not None:
                return value, problem.replace(f"got {quote(item)}", f"got {quote(value)}")
            items.append(converted)
        return tuple(items), None
    converted, problem = _scalar(where, hint, value)
    return converted, problem or _bounds(where, converted, meta)


def check_field(where: str, cls: type, name: str, value: Any) -> str | None:
    """Why ``value`` cannot be option ``name`` of ``cls`` (its type and bounds), or None.

    For values set outside ``parse_options``: a search space's choices and range ends
    are hyperparameters too, held to the same bounds.
    """
    return check_value(where, _hints(cls)[name], value, _meta(cls, name))[1]


def parse_options(
    where: str, cls: type[T], raw: Mapping[str, Any], ignore: Collection[str] = ()
) -> tuple[T | None, list[str]]:
    """An instance of ``cls`` from ``raw`` (missing keys take their defaults), or every problem."""
    if not isinstance(raw, Mapping):
        return None, [f"{where}: expected a mapping of options, got {quote(raw)}"]
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = _hints(cls)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        if key in ignore:
            continue
        if key not in fields:
            problems.append(unknown_key(where, key, fields, "option"))
            continue
        converted, problem = check_value(f"{where}.{key}", hints[key], value, _meta(cls, key))
        if problem:
            problems.append(problem)
        else:
            values[key] = converted
    for name, fld in fields.items():
        required = fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING
        if required and name not in raw:
            doc = _meta(cls, name).get("doc")
            problems.append(f"{where}.{name}: required" + (f" ({doc})" if doc else ""))
    if problems:
        return None, problems
    try:
        instance = cls(**values)
    except (ValueError, TypeError) as exc:  # cross-field checks in __post_init__
        return None, [f"{where}: {exc}"]
    return instance, []


def options_dict(options: Any) -> dict[str, Any]:
    """Plain values of an options instance (tuples as lists), as config and params hold them."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return {f.name: plain(getattr(options, f.name)) for f in dataclasses.fields(options)}


def describe_options(cls: type) -> list[dict[str, Any]]:
    """Name, type, default, bounds and description of every option (the reference's rows)."""
    rows = []
    hints = _hints(cls)
    for fld in dataclasses.fields(cls):
        meta = _meta(cls, fld.name)
        required = False
        if fld.default is not dataclasses.MISSING:
            default = fld.default
        elif fld.default_factory is not dataclasses.MISSING:
            default = fld.default_factory()
        else:
            default, required = None, True
        hint, optional = _strip_optional(hints[fld.name])
        rows.append(
            {
                "name": fld.name,
                "type": _describe_type(hint) + (" or null" if optional else ""),
                "default": default,
                "required": required,
                "low": meta.get("low"),
                "high": meta.get("high"),
                "choices": meta.get("choices"),
                "doc": meta.get("doc", ""),
            }
        )
    return rows


# --- kind tables --------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One row of a kind table.

    ``implementation`` is ``"package.module:Name"``, imported only when the
    kind is used, so that asking for a classical encoder never imports torch.
    ``neural`` kinds run a torch model: on ``device: cuda`` their jobs request
    a GPU from the scheduler.
    """

    name: str
    options: type
    implementation: str
    neural: bool = False
    doc: str = ""

    @property
    def module(self) -> str:
        return self.implementation.split(":")[0]

    def load(self) -> Any:
        module, _, attribute = self.implementation.partition(":")
        loaded = importlib.import_module(module)
        return getattr(loaded, attribute) if attribute else loaded


K = TypeVar("K", bound=Kind)


class KindTable(Generic[K]):
    """The rows of one kind of thing, looked up by the value of its ``kind`` key."""

    def __init__(self, what: str, rows: Iterable[K], key: str = "kind") -> None:
        self.what = what
        self.key = key
        self.rows: dict[str, K] = {}
        for row in rows:
            if row.name in self.rows:
                raise ValueError(f"{what}: kind {row.name!r} declared twice")
            self.rows[row.name] = row

    def __getitem__(self, name: str) -> K:
        try:
            return self.rows[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.what} {name!r}{did_you_mean(name, self.rows)}; "
                f"known: {', '.join(self.rows)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.rows

    def __iter__(self) -> Iterator[K]:
        return iter(self.rows.values())

    def names(self) -> list[str]:
        return list(self.rows)

    def parse(
        self,
        where: str,
        raw: Any,
        ignore: Collection[str] = (),
        allowed: Collection[str] | None = None,
    ) -> tuple[K | None, Any, list[str]]:
        """(row, options, problems) of a config entry ``{kind: ..., <options>}``.

        ``ignore`` names keys the caller reads itself; ``allowed`` limits the
        kinds this place accepts (an encoder of the right modality, say).
        """
        if not isinstance(raw, Mapping):
            return (
                None,
                None,
                [f"{where}: expected a mapping with a '{self.key}', got {quote(raw)}"],
            )
        name = raw.get(self.key)
        names = [n for n in self.rows if allowed is None or n in allowed]
        if name not in names:
            hint = did_you_mean(name, names) if isinstance(name, str) else ""
            message = f"{where}.{self.key}: {quote(name)} is not a known {self.what} here; one of {', '.join(names)}{hint}"
            return None, None, [message]
        row = self.rows[name]
        options, problems = parse_options(where, row.options, raw, {self.key, *ignore})
        return row, options, problems


def require(problems: list[str], what: str = "invalid configuration") -> None:
    """Raise one ConfigError listing every problem (nothing when there are none)."""
    if problems:
        raise ConfigError(f"{what}:\n" + "\n".join(f"  - {p}" for p in problems))
