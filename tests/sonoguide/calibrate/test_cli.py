"""``sonoguide calibrate``: every action is registered, documented and imports cleanly."""

from __future__ import annotations

import importlib

import pytest

from sonoguide.calibrate.cli import ACTIONS
from sonoguide.cli import build_parser, main


@pytest.mark.parametrize("name, module", [(a, m) for a, m, _ in ACTIONS])
def test_every_action_module_has_its_entry_points(name, module):
    mod = importlib.import_module(module)
    assert callable(mod.add_arguments) and callable(mod.run)
    assert (mod.__doc__ or "").strip(), f"{module} documents its input layout"


def test_the_help_lists_every_action(capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["calibrate", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name, _, _ in ACTIONS:
        assert name in out


def test_a_device_id_without_key_is_one_error_line(tmp_path, capsys):
    import numpy as np

    from research.calibration.pivot_sim import simulate_pivot, write_pivot
    write_pivot(simulate_pivot(np.random.default_rng(0), 30), tmp_path / "p.json")
    rc = main(["calibrate", "pivot", "--input", str(tmp_path / "p.json"), "--out", str(tmp_path / "o.json"),
               "--device", "no-equals-sign"])
    err = capsys.readouterr().err
    assert rc != 0 and err.startswith("error: --device 'no-equals-sign'") and "KEY=ID" in err
    assert not (tmp_path / "o.json").exists()


def _closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("argv", [
    ["temporal", "--out", "{tmp}/t.toml"],
    ["us-probe", "--method", "nwire", "--phantom", "{tmp}/p.json", "--out", "{tmp}/u.json"],
])
def test_live_modes_without_a_server_or_with_a_bad_address_are_one_error_line(tmp_path, capsys, argv):
    (tmp_path / "p.json").write_text("{}")
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    rc = main(["calibrate", args[0], "--igtl", f"127.0.0.1:{_closed_port()}", *args[1:]])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and err.startswith("error: no OpenIGTLink server at 127.0.0.1:") and "\n" not in err
    rc = main(["calibrate", args[0], "--igtl", "nohostport", *args[1:]])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and err.startswith("error: --igtl 'nohostport': write HOST:PORT")
