"""Helpers that turn TOML tables into validated, frozen configuration dataclasses.

Every configuration section is a frozen dataclass deriving from :class:`Section` whose defaults
are the single place each default lives (DESIGN.md, "Configuration"). A field declares the
values it allows in its metadata::

    @dataclass(frozen=True)
    class SyncConfig(Section, key="tracking.sync"):
        buffer_size: int = field(default=128, metadata=bounds(2, 100000))
        max_pose_age_ms: float = field(default=100.0, metadata=bounds(1.0, 1e6))

:class:`Section`'s ``__post_init__`` runs one generic check of every field (its annotation -
``int``, ``float``, ``bool``, ``str``, ``Literal``, optional and tuple types - and the
:func:`bounds`, :func:`choices` or :func:`check` declared in its metadata) and raises
:class:`ConfigError` naming the dotted key and what is allowed
(``tracking.pose.max_reproj_err_px = 99 is invalid; allowed: a number 0.05..50``); a section's
:meth:`Section.cross_check` then holds the few checks that relate two fields.

:func:`section_from_dict` builds a section from a TOML table: it rejects unknown keys and
values of the wrong type, naming the dotted key, and reads nested tables (``[tracking.sync]``)
into nested sections. A section made of sub-sections still reads the flat keys of the release
before the nesting (``max_pose_age_ms`` in ``[tracking]``) for one release: each is moved to
its new place with one deprecation line in the log (:func:`flat_keys`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from core.errors import ConfigError

T = TypeVar("T")

log = logging.getLogger(__name__)

ALLOWED = "allowed"
"""Field-metadata key of the field's :class:`Allowed` values."""

FORMERLY = "formerly"
"""Field-metadata key of the field's name in the flat section of the previous release."""


def require(cond: bool, key: str, allowed: str, value: object) -> None:
    """Raise :class:`ConfigError` naming ``key`` unless ``cond`` holds.

    Args:
        cond: the condition the value must satisfy.
        key: dotted key, for example ``"segmentation.threshold"``.
        allowed: human description of the allowed values (``"a number 0..1"``).
        value: the offending value, shown with ``repr``.
    """
    if not cond:
        raise ConfigError(f"{key} = {value!r} is invalid; allowed: {allowed}")


def is_number(v: object) -> bool:
    """True for a finite int or float that is not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


_PLURAL = {bool: "booleans", int: "integers", float: "numbers", str: "strings"}


def describe_type(tp: Any, optional: bool = True) -> str:
    """Human description of the values a field annotated ``tp`` takes (``"a list of 2 numbers"``).

    Args:
        tp: the field's type annotation.
        optional: include ``"absent"`` for the ``None`` of an optional type; ``False`` describes
            only the values one can write (TOML has no null).
    """
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if optional or a is not type(None)]
        return " or ".join(describe_type(a, optional) for a in args)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {describe_type(args[0], optional)}"
        if args and all(a is args[0] for a in args) and args[0] in _PLURAL:
            return f"a list of {len(args)} {_PLURAL[args[0]]}"
        return f"a list of {len(args)} values"
    if tp is type(None):
        return "absent"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, getattr(tp, "__name__", str(tp)))


# --------------------------------------------------------------------------- declared values

@dataclasses.dataclass(frozen=True)
class Allowed:
    """The values a configuration field allows beyond its type.

    Attributes:
        test: predicate on a value of the field's type (``None`` of an optional field is
            never passed to it).
        text: description for the error message; ``{a}`` becomes the field's kind
            (``"a number"``, ``"an integer"``). A function of the refused value instead says
            what is wrong with that value (used only for a value of the field's type).
    """

    test: Callable[[Any], bool]
    text: str | Callable[[Any], str]


@dataclasses.dataclass(frozen=True)
class Bounds(Allowed):
    """:class:`Allowed` values of a number range, with its limits (see :func:`bounds`)."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False


@dataclasses.dataclass(frozen=True)
class Choices(Allowed):
    """:class:`Allowed` values of a fixed set (see :func:`choices`)."""

    values: tuple[Any, ...] = ()


def _fmt(x: float) -> str:
    return str(int(x)) if isinstance(x, int) else f"{x:g}"


def bounds(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False,
           note: str = "") -> dict[str, Any]:
    """Field metadata: a number (or integer, after the annotation) in ``lo..hi``.

    Args:
        lo: smallest allowed value (``None``: no lower bound).
        hi: largest allowed value (``None``: no upper bound).
        lo_open: ``lo`` itself is not allowed.
        hi_open: ``hi`` itself is not allowed.
        note: appended to the description (units, what a special value means).

    Example: ``x: float = field(default=1.0, metadata=bounds(0.0, 10.0))`` is described
    ``a number 0..10``; ``bounds(0, 1, hi_open=True)`` ``a number 0..<1``; ``bounds(lo=0)``
    ``a number >= 0``.
    """
    def test(v: Any) -> bool:
        if lo is not None and (v <= lo if lo_open else v < lo):
            return False
        return hi is None or (v < hi if hi_open else v <= hi)

    if lo is not None and hi is not None:
        rng = f"{'>' if lo_open else ''}{_fmt(lo)}..{'<' if hi_open else ''}{_fmt(hi)}"
    elif lo is not None:
        rng = f"{'>' if lo_open else '>='} {_fmt(lo)}"
    elif hi is not None:
        rng = f"{'<' if hi_open else '<='} {_fmt(hi)}"
    else:
        rng = ""
    text = "{a}" + (f" {rng}" if rng else "") + (f" {note}" if note else "")
    return {ALLOWED: Bounds(test, text, lo, hi, lo_open, hi_open)}


def choices(*values: Any, note: str = "") -> dict[str, Any]:
    """Field metadata: one of ``values`` (a ``Literal`` annotation declares the same by itself)."""
    text = ", ".join(str(v) for v in values[:-1]) + (" or " if len(values) > 1 else "") + str(values[-1])
    return {ALLOWED: Choices(lambda v: v in values, text + (f" {note}" if note else ""), tuple(values))}


def check(test: Callable[[Any], bool], allowed: str | Callable[[Any], str]) -> dict[str, Any]:
    """Field metadata: any predicate, with the description of what it allows.

    Args:
        test: true for an allowed value (of the field's type).
        allowed: what is allowed; or a function of a refused value that says what is allowed
            instead (``endpoint_problem``: "a port 1..65535 (got '99999')").
    """
    return {ALLOWED: Allowed(test, allowed)}


def formerly(old: str) -> dict[str, Any]:
    """Field metadata: the field's name in the flat section of the previous release.

    Combine with a declaration: ``metadata=choices("a", "b") | formerly("filter")``.
    """
    return {FORMERLY: old}


def _conforms(tp: Any, value: Any) -> bool:
    """True when ``value`` is of the annotation ``tp`` (the check :func:`_coerce` makes on TOML)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin is typing.Literal:
        return any(value == a and type(value) is type(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(a, value) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if origin is tuple:
        if not isinstance(value, (tuple, list)):
            return False
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(args[0], v) for v in value)
        return len(args) == len(value) and all(_conforms(a, v) for a, v in zip(args, value))
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return is_number(value)
    if tp is str:
        return isinstance(value, str)
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True


def _kind(tp: Any) -> str:
    """``"an integer"`` or ``"a number"`` for a (possibly optional) numeric annotation."""
    args = [a for a in typing.get_args(tp) if a is not type(None)] if typing.get_origin(tp) in (
        typing.Union, types.UnionType) else [tp]
    return "an integer" if args == [int] else "a number"


@dataclasses.dataclass(frozen=True)
class _FieldRule:
    name: str
    tp: Any
    allowed: Allowed | None
    text: str  # what the annotation allows, and the declaration's text when it is a string


_RULES: dict[type, tuple[_FieldRule, ...]] = {}


def _rules(cls: type) -> tuple[_FieldRule, ...]:
    rules = _RULES.get(cls)
    if rules is None:
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            allowed = f.metadata.get(ALLOWED)
            tp = hints[f.name]
            text = (allowed.text.replace("{a}", _kind(tp)) if allowed is not None and isinstance(allowed.text, str)
                    else describe_type(tp, optional=False))
            out.append(_FieldRule(f.name, tp, allowed, text))
        rules = _RULES[cls] = tuple(out)
    return rules


def validate(obj: Any, section: str) -> None:
    """Check every field of the dataclass ``obj`` against its annotation and declared values.

    Args:
        obj: a configuration dataclass instance.
        section: its dotted name, for the messages (``"tracking.sync"``).

    Raises:
        ConfigError: ``section.field = value is invalid; allowed: ...`` for the first field
            whose value is not of its type or not among its declared values.
    """
    for rule in _rules(type(obj)):
        v = getattr(obj, rule.name)
        key = f"{section}.{rule.name}" if section else rule.name
        require(_conforms(rule.tp, v), key, rule.text, v)
        if rule.allowed is not None and v is not None and not rule.allowed.test(v):
            text = rule.allowed.text
            require(False, key, text(v) if callable(text) else rule.text, v)


class Section:
    """Base of a configuration section: a frozen dataclass validated once, at construction.

    A subclass names its dotted key, ``class SyncConfig(Section, key="tracking.sync")``, and
    declares its fields' allowed values in their metadata (:func:`bounds`, :func:`choices`,
    :func:`check`); checks that relate fields go in :meth:`cross_check`.
    """

    section_key: ClassVar[str] = ""

    def __init_subclass__(cls, key: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if key:
            cls.section_key = key

    def __post_init__(self) -> None:
        validate(self, self.section_key)
        self.cross_check()

    def cross_check(self) -> None:
        """Checks between fields (each field alone has passed); raise :class:`ConfigError`."""


def _is_section_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


_FLAT: dict[type, dict[str, tuple[str, str]]] = {}


def flat_keys(cls: type) -> dict[str, tuple[str, str]]:
    """The previous release's flat keys of a section made of sub-sections and where each went.

    Returns:
        ``{old key: (sub-section, new key)}`` for every field of every sub-section field of
        ``cls`` (its :func:`formerly` name, else its own); empty for a section without
        sub-sections.
    """
    found = _FLAT.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = {}
        scalars = set()
        for f in dataclasses.fields(cls):
            if not _is_section_type(hints[f.name]):
                scalars.add(f.name)
                continue
            for g in dataclasses.fields(hints[f.name]):
                old = g.metadata.get(FORMERLY, g.name)
                if old in found or old in scalars:
                    raise TypeError(f"{cls.__name__}: flat key {old!r} is ambiguous")
                found[old] = (f.name, g.name)
        _FLAT[cls] = found
    return found


def _move_flat_keys(cls: type, data: dict[str, Any], section: str) -> dict[str, Any]:
    """``data`` with the previous release's flat keys moved into their sub-tables (one log line each)."""
    moved = flat_keys(cls)
    if not moved or not any(k in moved for k in data):
        return data
    def is_flat(key: str, value: Any) -> bool:  # a sub-table of the same name is the new form
        return key in moved and not isinstance(value, dict)

    out = {k: v for k, v in data.items() if not is_flat(k, v)}
    for old, value in data.items():
        if not is_flat(old, value):
            continue
        sub, new = moved[old]
        table = out.get(sub, {})
        if not isinstance(table, dict):
            out[old] = value  # [section.sub] is not a table: reported as it is
            continue
        if new in table:
            raise ConfigError(f"{section}.{old} and {section}.{sub}.{new} are both given; "
                              f"keep only {section}.{sub}.{new}")
        out[sub] = {**table, new: value}
        log.warning("%s.%s is deprecated: write it as %s.%s.%s", section, old, section, sub, new)
    return out


def _coerce(tp: Any, value: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert lists to tuples, ints to floats."""
    origin = typing.get_origin(tp)
    bad = ConfigError(f"{key} = {value!r} is invalid; expected {describe_type(tp)}")
    if tp is Any:
        return value
    if origin is typing.Literal:
        if value in typing.get_args(tp):
            return value
        raise bad
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(arg, value, key)
            except ConfigError:
                continue
        raise bad
    if tp is type(None):
        if value is None:
            return None
        raise bad
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise bad
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise bad
        return tuple(_coerce(a, v, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad
    if tp is float:
        if is_number(value):
            return float(value)
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table")
        return section_from_dict(tp, value, key)
    if isinstance(value, tp):
        return value
    raise bad


def section_from_dict(cls: type[T], data: dict[str, Any] | None, section: str) -> T:
    """Build the frozen dataclass ``cls`` from a TOML table.

    Nested tables become nested sections; a section made of sub-sections also reads the flat
    keys of the previous release (:func:`flat_keys`), each with one deprecation line.

    Args:
        cls: a dataclass type whose fields have defaults.
        data: the TOML table (``None`` or empty: every default).
        section: dotted name of the table, used in error messages.

    Raises:
        ConfigError: an unknown key, a value of the wrong type, a key given both flat and
            nested, or a value the dataclass's validation refuses; the message names
            ``section.key``.
    """
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"[{section}] must be a table")
    data = _move_flat_keys(cls, data, section)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{section}.{unknown[0]}: unknown key; allowed keys: {', '.join(sorted(fields))}")
    kwargs = {name: _coerce(hints[name], value, f"{section}.{name}") for name, value in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{section}]: {exc}") from None


def section_from_file(cls: type[T], path: str | None, section: str) -> T:
    """One section (dotted ``section``, e.g. ``"network"``) of a TOML configuration file.

    ``None`` or an empty path gives the section's defaults. Raises :class:`ConfigError` for a
    missing or unreadable file, a TOML syntax error or invalid content.
    """
    if not path:
        return cls()
    import tomllib
    from pathlib import Path

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} not found; check the path") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"configuration file {path} cannot be read as TOML ({exc})") from None
    for part in section.split(".")[:-1]:
        data = data.get(part) or {}
    return section_from_dict(cls, data.get(section.split(".")[-1]), section)


def replace_keys(section: T, changes: dict[str, Any]) -> T:
    """A copy of the configuration dataclass ``section`` with keys replaced, dotted for a sub-section.

    ``replace_keys(voice, {"lang": "ko", "vad.kind": "energy"})`` is
    ``dataclasses.replace(voice, lang="ko", vad=dataclasses.replace(voice.vad, kind="energy"))``;
    every section built is validated as at construction.
    """
    direct: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in changes.items():
        head, dot, rest = key.partition(".")
        if dot:
            nested.setdefault(head, {})[rest] = value
        else:
            direct[key] = value
    for head, sub in nested.items():
        direct[head] = replace_keys(direct.get(head, getattr(section, head)), sub)
    return dataclasses.replace(section, **direct) if direct else section


def key_value(section: Any, key: str) -> tuple[str, Any] | None:
    """The value of a key of ``section``, written dotted (``"vad.kind"``) or as the flat key of the
    previous release (``"vad"``, see :func:`flat_keys`), with its dotted name; ``None`` when the
    section has no such key (files written by an older or newer release may name others)."""
    if "." not in key and key in flat_keys(type(section)):  # a sub-section's name alone is no value
        key = ".".join(flat_keys(type(section))[key])
    obj: Any = section
    for part in key.split("."):
        if not dataclasses.is_dataclass(obj) or part not in {f.name for f in dataclasses.fields(obj)}:
            return None
        obj = getattr(obj, part)
    return (None if dataclasses.is_dataclass(obj) else (key, obj))


def section_to_dict(obj: Any) -> dict[str, Any]:
    """A TOML-ready dict of a configuration dataclass (tuples as lists, ``None`` dropped, sub-sections nested)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            out[f.name] = section_to_dict(v)
        elif isinstance(v, tuple):
            out[f.name] = [list(x) if isinstance(x, tuple) else x for x in v]
        elif v is not None:
            out[f.name] = v
    return out
