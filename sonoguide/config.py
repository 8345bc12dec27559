"""One TOML file → frozen, validated configuration dataclasses.

Every section is a frozen dataclass whose defaults live in its class (the one place each default
lives); the sections of other packages are imported from them (``[segmentation]`` from
``vision.segmentation.config``...). :func:`load_config` reads the file with :mod:`tomllib`,
refuses unknown sections and keys, wrong types and bad values, naming the dotted key and what is
allowed, and :func:`dump_toml` prints the effective configuration (``sonoguide config show``).

:func:`load_config` never touches the files a configuration names (tests and templates build
configurations with placeholder paths); :func:`check_paths` does, for ``sonoguide config check``
and for any command that wants to refuse a missing file before it starts.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ar_bridge.config import NetworkConfig
from ar_bridge.igtl_server import IgtlServerConfig
from core.configtools import Section, bounds, check, describe_type, require, section_from_dict, section_to_dict
from core.errors import ConfigError
from vision.needle.config import NeedleConfig
from vision.phantom.config import PhantomConfig
from vision.segmentation.config import SegmentationConfig
from vision.tracking.config import TrackingConfig
from voice.config import VoiceConfig

def _source_ok(spec: object, allow_phantom: bool) -> bool:
    if not isinstance(spec, str) or not spec:
        return False
    if spec == "phantom":
        return allow_phantom
    if spec.startswith("device:"):
        return spec.split(":", 1)[1].isdigit()
    return True  # a file or folder path: checked when the source opens


def _camera_source_ok(spec: str) -> bool:
    if spec.startswith("igtl:"):
        host, _, port = spec[5:].rpartition(":")
        return bool(host) and port.isdigit() and 1 <= int(port) <= 65535
    return spec in ("synthetic", "none") or _source_ok(spec, False)


@dataclass(frozen=True)
class UltrasoundConfig(Section, key="ultrasound"):
    """The ultrasound image source (section ``[ultrasound]``).

    Attributes:
        source: ``"phantom"`` (synthetic), ``"device:N"`` (frame grabber N), ``"folder:PATH"``
            (image folder) or a video file path.
        fps: frame rate of the phantom and of an image folder (devices and videos keep their own).
        mm_per_px: pixel spacing ``[row, col]`` of a real source's images in mm (the phantom
            knows its own); required for real sources.
        loop: restart a video file or folder at its end.
    """

    source: str = field(default="phantom", metadata=check(lambda v: _source_ok(v, True),
                                                          "phantom, device:N, folder:PATH or a video file path"))
    fps: float = field(default=30.0, metadata=bounds(1.0, 240.0))
    mm_per_px: tuple[float, float] | None = field(default=None, metadata=check(
        lambda v: all(0.005 <= x <= 2.0 for x in v), "two numbers 0.005..2 (mm per pixel: row, column)"))
    loop: bool = True

    def cross_check(self) -> None:
        require(self.source == "phantom" or self.mm_per_px is not None, "ultrasound.mm_per_px",
                "[row_mm, col_mm] for a real ultrasound source (read it off the scanner's depth scale)",
                self.mm_per_px)


@dataclass(frozen=True)
class CameraConfig(Section, key="camera"):
    """The probe-tracking camera (section ``[camera]``).

    Attributes:
        source: ``"synthetic"`` (renders the simulated probe's board), ``"none"`` (no tracking),
            ``"device:N"``, ``"folder:PATH"``, a video file path, or ``"igtl:HOST:PORT"`` for poses
            streamed by an OpenIGTLink server (PLUS, 3D Slicer); then the "camera" frame of the
            chain is the tracker's and the "marker" frame is the tracked probe sensor's.
        igtl_device: name of the OpenIGTLink TRANSFORM messages (PLUS naming ``ProbeToTracker``).
        intrinsics: camera JSON (``{"K", "dist", "width", "height"}``); required for real sources.
        max_rms_px: refuse a camera file whose reprojection RMS (``rms_px``, written by
            ``sonoguide calibrate camera``) is larger.
        board: marker board JSON; empty uses the default ChArUco board (5x7, 10 mm squares).
        fps: rate of the synthetic camera and of an image folder.
        width: synthetic camera image width (px).
        height: synthetic camera image height (px).
        seed: seed of the simulated probe trajectory.
    """

    source: str = field(default="synthetic", metadata=check(
        _camera_source_ok, "synthetic, none, device:N, folder:PATH, a video file path or igtl:HOST:PORT"))
    igtl_device: str = field(default="ProbeToTracker", metadata=check(
        bool, "an OpenIGTLink device name such as ProbeToTracker"))
    intrinsics: str = ""
    max_rms_px: float = field(default=1.0, metadata=bounds(0.01, 10.0, note="(px)"))
    board: str = ""
    fps: float = field(default=30.0, metadata=bounds(1.0, 240.0))
    width: int = field(default=640, metadata=bounds(160, 4096))
    height: int = field(default=480, metadata=bounds(120, 4096))
    seed: int = field(default=0, metadata=bounds(lo=0))

    def cross_check(self) -> None:
        real = self.source not in ("synthetic", "none") and not self.source.startswith("igtl:")
        require(not real or bool(self.intrinsics), "camera.intrinsics",
                "the path of the camera JSON for a real camera (run camera calibration)", self.intrinsics)


@dataclass(frozen=True)
class CalibrationConfig(Section, key="calibration"):
    """Calibration files of the transform chain (section ``[calibration]``).

    ``T_headset_from_image = T_headset_from_camera @ T_camera_from_marker @ T_marker_from_image``;
    the middle link is tracked live, the outer two come from these files. Empty paths with the
    phantom and the synthetic camera use the simulated rig's exact values.

    Attributes:
        image_to_marker: ultrasound image (px) → marker board (mm) calibration file.
        camera_to_headset: tracking camera → headset calibration file.
        max_rms_mm: refuse a calibration whose RMS residual is larger.
        probe_id: required probe id in the image-to-marker file (empty: not checked).
        camera_id: required camera id in both calibration files and in the camera file
            (``camera.intrinsics``; empty: not checked).
        headset_id: required headset id in the camera-to-headset file (empty: not checked).
        verify_limit_mm: ``sonoguide calibrate verify`` passes when the whole chain places the
            phantom target within this distance of where it is.
    """

    image_to_marker: str = ""
    camera_to_headset: str = ""
    max_rms_mm: float = field(default=2.0, metadata=bounds(0.01, 20.0, note="(mm)"))
    probe_id: str = ""
    camera_id: str = ""
    headset_id: str = ""
    verify_limit_mm: float = field(default=1.5, metadata=bounds(0.05, 50.0, note="(mm)"))


@dataclass(frozen=True)
class PipelineConfig(Section, key="pipeline"):
    """How frames become overlays (section ``[pipeline]``).

    Attributes:
        overlay_validity_ms: an overlay is current for this long after its capture; a client
            shows it as stale afterwards.
        send_image: attach the ultrasound image to each overlay (for in-situ display).
        segmentation: run the segmentation stage.
        needle: run the needle stage.
        status_hz: refresh rate of the live status line.
        snapshot_dir: where ``snapshot`` writes its PNG and JSON.
        opencv_threads: OpenCV worker threads in the live runtime; 1 (default) keeps OpenCV's
            thread pool from taking the segmentation's core away while the camera is tracked
            (BENCHMARKS.md, guidance loop); 0 leaves OpenCV's default (one per core). With
            ``segmentation.runtime`` on OpenCV (the CPU default) the segmenter, built after this
            is applied, sets OpenCV's process-wide count to ``segmentation.threads`` (1 on 2 cores).
        device_process: run the simulated devices (the phantom, the synthetic marker camera) in
            processes of their own, as a frame grabber and a camera are separate hardware, with
            frames through shared memory (:mod:`vision.sources.device_process`): the core's
            process then does, and is measured doing, only the core's work.
    """

    overlay_validity_ms: float = field(default=200.0, metadata=bounds(20.0, 5000.0))
    send_image: bool = True
    segmentation: bool = True
    needle: bool = True
    status_hz: float = field(default=2.0, metadata=bounds(0.1, 20.0))
    snapshot_dir: str = field(default="snapshots", metadata=check(bool, "a folder path"))
    opencv_threads: int = field(default=1, metadata=bounds(0, 256))
    device_process: bool = False


@dataclass(frozen=True)
class RecordingConfig(Section, key="recording"):
    """Recording (section ``[recording]``).

    Attributes:
        dir: parent folder of recordings started by the ``start recording`` command.
        camera_poses: record every tracker measurement (besides the pose used per frame).
    """

    dir: str = field(default="recordings", metadata=check(bool, "a folder path"))
    camera_poses: bool = True


@dataclass(frozen=True)
class Config:
    """The whole configuration, one frozen dataclass per TOML table."""

    network: NetworkConfig = field(default_factory=NetworkConfig)
    ultrasound: UltrasoundConfig = field(default_factory=UltrasoundConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    phantom: PhantomConfig = field(default_factory=PhantomConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    recording: RecordingConfig = field(default_factory=RecordingConfig)
    segmentation: SegmentationConfig = field(default_factory=SegmentationConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    needle: NeedleConfig = field(default_factory=NeedleConfig)
    voice: VoiceConfig = field(default_factory=VoiceConfig)
    igtl_server: IgtlServerConfig = field(default_factory=IgtlServerConfig)

    def replace(self, **sections: Any) -> "Config":
        """Copy with whole sections replaced."""
        return dataclasses.replace(self, **sections)


def _section_types() -> dict[str, type]:
    import typing
    hints = typing.get_type_hints(Config)
    return {f.name: hints[f.name] for f in dataclasses.fields(Config)}


def config_from_dict(data: dict[str, Any], source: str = "<dict>") -> Config:
    """Build and validate a :class:`Config` from parsed TOML.

    Raises:
        ConfigError: unknown section or key, wrong type or bad value; names the key.
    """
    types = _section_types()
    unknown = sorted(set(data) - set(types))
    if unknown:
        raise ConfigError(f"{source}: unknown section [{unknown[0]}]; allowed: {', '.join(types)}")
    sections = {}
    for name, tp in types.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: '{name}' must be a table ([{name}])")
        try:
            sections[name] = section_from_dict(tp, table, name)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    return Config(**sections)


def load_config(path: str | Path | None = None) -> Config:
    """Load a TOML configuration file over the defaults (``None``: defaults only).

    Raises:
        ConfigError: missing or unreadable file, TOML syntax error, or invalid content.
    """
    if path is None:
        return Config()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"configuration file {p} not found; check the path (sonoguide config show prints "
                          "the defaults to start from)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {p} cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file {p} is not valid TOML: {exc}") from None
    return config_from_dict(data, source=str(p))


@dataclass(frozen=True)
class PathProblem:
    """A file or folder named in the configuration that is not there.

    Attributes:
        key: dotted configuration key, for example ``calibration.image_to_marker``.
        path: the path as configured (relative paths are relative to the working folder).
        expected: ``"file"`` or ``"folder"``.
        problem: ``"not found"`` or what is there instead (``"is a folder"``, ``"is a file"``,
            ``"is a special file"``).
    """

    key: str
    path: str
    expected: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.key} = {json.dumps(self.path, ensure_ascii=False)}"
        if self.problem == "not found":
            return f"{where}: {self.expected} not found"
        return f"{where}: {self.problem}, not a {self.expected}"


_UNSET_VERIFIER = ("", "auto", "bundled", "off")


def _source_path(spec: str, key: str) -> tuple[str, str, str] | None:
    """``(key, path, kind)`` of a source spec that names a folder or a video file, else ``None``."""
    if spec in ("phantom", "synthetic", "none") or spec.startswith(("device:", "igtl:")):
        return None
    if spec.startswith("folder:"):
        return key, spec.split(":", 1)[1], "folder"
    return key, spec, "file"


def configured_paths(config: Config) -> list[tuple[str, str, str]]:
    """Every input file or folder the configuration names, as ``(dotted key, path, kind)``.

    ``kind`` is ``"file"`` or ``"folder"``. Empty values (a bundled or simulated default) and
    outputs created on demand (``pipeline.snapshot_dir``, ``recording.dir``, ``voice.audit_log``,
    ``voice.engine.model_dir``) are not listed; ``network.curve_dir`` is, when ``network.curve`` is
    on.
    """
    out: list[tuple[str, str, str]] = []
    for src in (_source_path(config.ultrasound.source, "ultrasound.source"),
                _source_path(config.camera.source, "camera.source")):
        if src is not None:
            out.append(src)
    files = (("camera.intrinsics", config.camera.intrinsics), ("camera.board", config.camera.board),
             ("calibration.image_to_marker", config.calibration.image_to_marker),
             ("calibration.camera_to_headset", config.calibration.camera_to_headset),
             ("segmentation.model", config.segmentation.model))
    out += [(key, path, "file") for key, path in files if path]
    voice = config.voice
    for key, path, kind in (("command_set", voice.command_set, "file"),
                            ("defence.calibration", voice.defence.calibration, "file"),
                            ("input.wav_path", voice.input.wav_path, "file"), ("vad.model", voice.vad.model, "file"),
                            ("engine.vosk_model", voice.engine.vosk_model, "folder")):
        if path:
            out.append((f"voice.{key}", path, kind))
    if voice.defence.verifier not in _UNSET_VERIFIER:
        out.append(("voice.defence.verifier", voice.defence.verifier, "folder"))
    if config.network.curve:
        out.append(("network.curve_dir", config.network.curve_dir, "folder"))
    return out


def check_paths(config: Config) -> list[PathProblem]:
    """The configured input files and folders (:func:`configured_paths`) that are not there.

    Args:
        config: a validated configuration.

    Returns:
        One :class:`PathProblem` per missing path (or a file where a folder belongs, and the
        reverse), in the order of :func:`configured_paths`; empty when every path exists.
    """
    problems: list[PathProblem] = []
    for key, path, kind in configured_paths(config):
        p = Path(path).expanduser() if key == "network.curve_dir" else Path(path)
        if kind == "file" and p.is_file() or kind == "folder" and p.is_dir():
            continue
        if not p.exists():
            problem = "not found"
        elif p.is_dir():
            problem = "is a folder"
        else:
            problem = "is a file" if p.is_file() else "is a special file"
        problems.append(PathProblem(key, path, kind, problem))
    return problems


def require_paths(config: Config, source: str) -> None:
    """Raise one :class:`ConfigError` naming every missing input path (:func:`check_paths`).

    Args:
        config: a validated configuration.
        source: where it came from (the file name), for the message.
    """
    problems = check_paths(config)
    if problems:
        relative = any(not Path(p.path).expanduser().is_absolute() for p in problems)
        raise ConfigError(f"{source}: " + "; ".join(str(p) for p in problems)
                          + ("; relative paths are relative to the working folder" if relative else ""))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if isinstance(v, float) and math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _dump_table(section: Any, name: str, lines: list[str]) -> None:
    """Append ``[name]`` with the section's keys, then a ``[name.sub]`` table per sub-section."""
    values = section_to_dict(section)
    hints = typing.get_type_hints(type(section))
    fields = [g for g in dataclasses.fields(section) if g.init]
    subs = [g for g in fields if dataclasses.is_dataclass(getattr(section, g.name))]
    keys = [g for g in fields if g not in subs]
    if keys or not subs:
        lines.append(f"[{name}]")
        for g in keys:
            if g.name in values:
                lines.append(f"{g.name} = {_toml_value(values[g.name])}")
            else:
                lines.append(f"# {g.name} = unset (optional: {describe_type(hints[g.name], optional=False)})")
        lines.append("")
    for g in subs:
        _dump_table(getattr(section, g.name), f"{name}.{g.name}", lines)


def dump_toml(config: Config) -> str:
    """The configuration as TOML text that :func:`load_config` reads back to the same values.

    Every key appears, in field order; a section made of stages is written as one table per
    stage (``[tracking.detector]``, ``[tracking.pose]``, ...). TOML has no null, so an optional
    key that is unset (``None``, such as ``ultrasound.mm_per_px`` with the phantom) is written as
    a comment, ``# mm_per_px = unset (optional: a list of 2 numbers)``, which reads back as unset.
    """
    lines: list[str] = []
    for f in dataclasses.fields(config):
        _dump_table(getattr(config, f.name), f.name, lines)
    return "\n".join(lines)
