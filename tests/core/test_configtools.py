"""core.configtools: declared allowed values checked once, nested sections, the flat keys of the
previous release moved with one deprecation line each."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import pytest

from core.configtools import (Bounds, Section, bounds, check, choices, flat_keys, formerly, require,
                              section_from_dict, section_to_dict)
from core.errors import ConfigError


@dataclass(frozen=True)
class _Inner(Section, key="toy.inner"):
    count: int = field(default=3, metadata=bounds(1, 10))
    gain: float = field(default=0.5, metadata=bounds(0.0, 1.0, hi_open=True, note="(0: off)"))
    mode: Literal["a", "b"] = field(default="a", metadata=formerly("inner_mode"))
    name: str = field(default="x", metadata=choices("x", "y", "z"))
    spacing: tuple[float, float] | None = field(default=None, metadata=check(lambda v: v[0] <= v[1],
                                                                             "two numbers, the first not larger"))
    rate: float = field(default=2.0, metadata=bounds(0.0, lo_open=True))
    flag: bool = True

    def cross_check(self) -> None:
        require(self.count != 7 or self.flag, "toy.inner.count", "not 7 while flag is false", self.count)


@dataclass(frozen=True)
class _Other(Section, key="toy.other"):
    limit_ms: float = field(default=100.0, metadata=bounds(1.0, 1e6))


@dataclass(frozen=True)
class _Toy(Section, key="toy"):
    seed: int = field(default=0, metadata=bounds(lo=0))
    inner: _Inner = field(default_factory=_Inner)
    other: _Other = field(default_factory=_Other)


@pytest.mark.parametrize("kwargs, message", [
    ({"count": 11}, "toy.inner.count = 11 is invalid; allowed: an integer 1..10"),
    ({"count": 2.0}, "toy.inner.count = 2.0 is invalid; allowed: an integer 1..10"),
    ({"count": True}, "toy.inner.count = True is invalid; allowed: an integer 1..10"),
    ({"gain": 1.0}, "toy.inner.gain = 1.0 is invalid; allowed: a number 0..<1 (0: off)"),
    ({"gain": float("nan")}, "toy.inner.gain = nan is invalid; allowed: a number 0..<1 (0: off)"),
    ({"mode": "c"}, "toy.inner.mode = 'c' is invalid; allowed: 'a' or 'b'"),
    ({"name": "w"}, "toy.inner.name = 'w' is invalid; allowed: x, y or z"),
    ({"spacing": (2.0, 1.0)}, "toy.inner.spacing = (2.0, 1.0) is invalid; allowed: two numbers, the first not larger"),
    ({"spacing": (1.0,)}, "toy.inner.spacing = (1.0,) is invalid; allowed: two numbers, the first not larger"),
    ({"rate": 0.0}, "toy.inner.rate = 0.0 is invalid; allowed: a number > 0"),
    ({"flag": 1}, "toy.inner.flag = 1 is invalid; allowed: true or false"),
    ({"count": 7, "flag": False}, "toy.inner.count = 7 is invalid; allowed: not 7 while flag is false"),
])
def test_declared_values_are_checked_at_construction_and_name_the_dotted_key(kwargs, message):
    with pytest.raises(ConfigError) as e:
        _Inner(**kwargs)
    assert str(e.value) == message


def test_allowed_values_pass_and_optional_none_is_not_tested():
    assert _Inner(count=10, gain=0.0, mode="b", name="z", spacing=(1.0, 1.0), rate=1e-9).count == 10
    assert _Inner(spacing=None).spacing is None
    assert _Toy(seed=0) == section_from_dict(_Toy, {}, "toy")


def test_bounds_keep_their_limits_for_tools_and_tests():
    meta = bounds(0.05, 50.0)
    assert isinstance(meta["allowed"], Bounds) and (meta["allowed"].lo, meta["allowed"].hi) == (0.05, 50.0)


def test_nested_tables_read_and_unknown_keys_are_named():
    cfg = section_from_dict(_Toy, {"seed": 2, "inner": {"count": 4, "spacing": [0.1, 0.2]}}, "toy")
    assert cfg == _Toy(seed=2, inner=_Inner(count=4, spacing=(0.1, 0.2)))
    assert section_from_dict(_Toy, section_to_dict(cfg), "toy") == cfg
    with pytest.raises(ConfigError, match=r"toy\.inner\.bogus: unknown key"):
        section_from_dict(_Toy, {"inner": {"bogus": 1}}, "toy")
    with pytest.raises(ConfigError, match=r"toy\.inner\.count = 'many' is invalid; expected an integer"):
        section_from_dict(_Toy, {"inner": {"count": "many"}}, "toy")
    with pytest.raises(ConfigError, match=r"toy\.other\.limit_ms = 0\.5 is invalid; allowed: a number 1\.\.1e\+06"):
        section_from_dict(_Toy, {"other": {"limit_ms": 0.5}}, "toy")


def test_flat_keys_map_to_their_sub_sections_with_formerly_names():
    assert flat_keys(_Toy) == {"count": ("inner", "count"), "gain": ("inner", "gain"), "inner_mode": ("inner", "mode"),
                               "name": ("inner", "name"), "spacing": ("inner", "spacing"), "rate": ("inner", "rate"),
                               "flag": ("inner", "flag"), "limit_ms": ("other", "limit_ms")}
    assert flat_keys(_Inner) == {}


def test_flat_keys_are_read_with_one_deprecation_line_each(caplog):
    with caplog.at_level(logging.WARNING, logger="core.configtools"):
        cfg = section_from_dict(_Toy, {"seed": 1, "count": 5, "inner_mode": "b", "limit_ms": 20,
                                       "inner": {"gain": 0.25}}, "toy")
    assert cfg == _Toy(seed=1, inner=_Inner(count=5, mode="b", gain=0.25), other=_Other(limit_ms=20.0))
    assert [r.getMessage() for r in caplog.records] == [
        "toy.count is deprecated: write it as toy.inner.count",
        "toy.inner_mode is deprecated: write it as toy.inner.mode",
        "toy.limit_ms is deprecated: write it as toy.other.limit_ms"]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_a_key_given_flat_and_nested_is_an_error_naming_both():
    with pytest.raises(ConfigError) as e:
        section_from_dict(_Toy, {"inner_mode": "b", "inner": {"mode": "a"}}, "toy")
    assert str(e.value) == "toy.inner_mode and toy.inner.mode are both given; keep only toy.inner.mode"


def test_a_bad_flat_value_is_named_at_its_new_place():
    with pytest.raises(ConfigError, match=r"^toy\.inner\.count = 0 is invalid; allowed: an integer 1\.\.10$"):
        section_from_dict(_Toy, {"count": 0}, "toy")
