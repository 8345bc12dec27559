"""Helpers that turn TOML tables into validated, frozen configuration dataclasses.

Every configuration section is a frozen dataclass whose defaults are the single place each
default lives (DESIGN.md, "Configuration"). :func:`section_from_dict` rejects unknown keys
and values of the wrong type, naming the dotted key and what is allowed; the dataclass's own
``__post_init__`` then checks ranges with :func:`require`.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, TypeVar

from core.errors import ConfigError

T = TypeVar("T")


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

    Args:
        cls: a dataclass type whose fields have defaults.
        data: the TOML table (``None`` or empty: every default).
        section: dotted name of the table, used in error messages.

    Raises:
        ConfigError: an unknown key, a value of the wrong type, or a value the dataclass's
            validation refuses; the message names ``section.key``.
    """
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"[{section}] must be a table")
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


def section_to_dict(obj: Any) -> dict[str, Any]:
    """A TOML-ready dict of a configuration dataclass (tuples as lists, ``None`` dropped)."""
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
