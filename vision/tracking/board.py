"""Marker boards described by a JSON file: ChArUco boards and multi-face ArUco cubes.

Pose convention: ``T_camera_from_board`` maps board points (mm) to camera points (mm).

* ChArUco (Garrido-Jurado et al., "Automatic generation and detection of highly reliable
  fiducial markers under occlusion", Pattern Recognition 47(6), 2014; OpenCV ``CharucoBoard``):
  OpenCV's object-point convention -- origin at the board's top-left outer corner, x along
  the squares to the right, y down, z = x × y pointing into the board (away from a viewer).
* ArUco cube (``"type": "aruco_cube"``): origin at the cube centre; each listed face carries
  one marker centred on the face; seen from outside, the marker's own x/y axes follow
  the table in :data:`FACE_RIGHT_AXIS`.

Example files::

    {"type": "charuco", "dictionary": "DICT_4X4_50", "squares_x": 5, "squares_y": 7,
     "square_length_mm": 10.0, "marker_length_mm": 7.5}
    {"type": "aruco_cube", "dictionary": "DICT_4X4_50", "cube_size_mm": 40.0,
     "marker_length_mm": 30.0, "faces": {"+x": 0, "-x": 1, "+y": 2, "-y": 3, "+z": 4}}
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.errors import ConfigError
from core.jsonfile import load_json

logger = logging.getLogger(__name__)

BOARD_TYPES = ("charuco", "aruco_cube")

# Outward face normal and the direction of the marker's x axis (to the right, seen from outside).
FACE_NORMALS: dict[str, tuple[float, float, float]] = {
    "+x": (1, 0, 0), "-x": (-1, 0, 0), "+y": (0, 1, 0), "-y": (0, -1, 0), "+z": (0, 0, 1), "-z": (0, 0, -1),
}
FACE_RIGHT_AXIS: dict[str, tuple[float, float, float]] = {
    "+x": (0, 1, 0), "-x": (0, -1, 0), "+y": (-1, 0, 0), "-y": (1, 0, 0), "+z": (1, 0, 0), "-z": (1, 0, 0),
}


def dictionary_by_name(name: str, where: str = "board") -> cv2.aruco.Dictionary:
    """Return OpenCV's predefined ArUco dictionary called ``name`` (e.g. ``"DICT_4X4_50"``)."""
    if not isinstance(name, str) or not name.startswith("DICT_") or not hasattr(cv2.aruco, name):
        known = sorted(n for n in dir(cv2.aruco) if n.startswith("DICT_"))
        raise ConfigError(f"{where}: key 'dictionary' = {name!r} is not an OpenCV dictionary; use one of {', '.join(known)}")
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))


@dataclass(frozen=True)
class PlanarFace:
    """One planar, printable part of a board (for rendering and planar pose).

    Attributes:
        T_board_from_face: 4x4 mapping face-plane points ``(u, v, 0)`` mm to board mm.
        size_mm: ``(width, height)`` of the face's printed area in mm.
        origin_mm: face-plane coordinate of the texture's top-left corner.
        marker_ids: marker ids printed on this face.
    """

    T_board_from_face: np.ndarray
    size_mm: tuple[float, float]
    origin_mm: tuple[float, float]
    marker_ids: tuple[int, ...]


@dataclass(frozen=True)
class BoardSpec:
    """A marker board: its JSON description plus the derived OpenCV objects.

    Attributes:
        type: ``"charuco"`` or ``"aruco_cube"``.
        dictionary: OpenCV predefined dictionary name.
        marker_length_mm: printed marker side length.
        squares_x, squares_y, square_length_mm: ChArUco grid (charuco only).
        cube_size_mm: cube edge length (aruco_cube only).
        faces: face name (``"+x"``...) -> marker id (aruco_cube only).
        legacy_pattern: OpenCV < 4.6 ChArUco layout for even row counts.
        source: file the spec came from, used in messages.
    """

    type: str = "charuco"
    dictionary: str = "DICT_4X4_50"
    marker_length_mm: float = 7.5
    squares_x: int = 5
    squares_y: int = 7
    square_length_mm: float = 10.0
    cube_size_mm: float = 40.0
    faces: tuple[tuple[str, int], ...] = ()
    legacy_pattern: bool = False
    source: str = field(default="<dict>", compare=False)

    # derived (filled in __post_init__)
    marker_points: dict = field(default=None, init=False, repr=False, compare=False)  # id -> (4,3) float64
    charuco_points: np.ndarray = field(default=None, init=False, repr=False, compare=False)  # (M,3)
    charuco_neighbours: tuple = field(default=None, init=False, repr=False, compare=False)  # per corner: marker ids
    planar_faces: tuple = field(default=None, init=False, repr=False, compare=False)
    cv_dictionary: Any = field(default=None, init=False, repr=False, compare=False)
    cv_board: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        w = self.source
        if self.type not in BOARD_TYPES:
            raise ConfigError(f"{w}: key 'type' = {self.type!r}; use one of {', '.join(BOARD_TYPES)}")
        d = dictionary_by_name(self.dictionary, w)
        n_dict = d.bytesList.shape[0]
        if not (self.marker_length_mm > 0):
            raise ConfigError(f"{w}: key 'marker_length_mm' must be > 0")
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("cv_dictionary", d)
        if self.type == "charuco":
            for key in ("squares_x", "squares_y"):
                v = getattr(self, key)
                if not isinstance(v, (int, np.integer)) or v < 2:
                    raise ConfigError(f"{w}: key '{key}' must be an integer >= 2")
            if not (self.square_length_mm > 0):
                raise ConfigError(f"{w}: key 'square_length_mm' must be > 0")
            if not (self.marker_length_mm < self.square_length_mm):
                raise ConfigError(f"{w}: key 'marker_length_mm' must be smaller than 'square_length_mm'")
            n_markers = (self.squares_x * self.squares_y) // 2
            if n_markers > n_dict:
                raise ConfigError(f"{w}: board needs {n_markers} markers but {self.dictionary} has {n_dict}; use a larger dictionary")
            board = cv2.aruco.CharucoBoard((int(self.squares_x), int(self.squares_y)),
                                           float(self.square_length_mm), float(self.marker_length_mm), d)
            board.setLegacyPattern(bool(self.legacy_pattern))
            ids = board.getIds().ravel().astype(int)
            objs = board.getObjPoints()
            mpts = {int(i): np.asarray(o, dtype=np.float64).reshape(4, 3) for i, o in zip(ids, objs)}
            cpts = np.asarray(board.getChessboardCorners(), dtype=np.float64).reshape(-1, 3)
            centres = {i: p.mean(axis=0) for i, p in mpts.items()}
            neigh = tuple(
                tuple(sorted(i for i, c in centres.items() if np.linalg.norm(c[:2] - cp[:2]) < self.square_length_mm))
                for cp in cpts
            )
            set_("charuco_points", cpts)
            set_("charuco_neighbours", neigh)
            W = self.squares_x * self.square_length_mm
            H = self.squares_y * self.square_length_mm
            faces = (PlanarFace(np.eye(4), (W, H), (0.0, 0.0), tuple(sorted(mpts))),)
        else:
            if not (self.cube_size_mm > self.marker_length_mm):
                raise ConfigError(f"{w}: key 'cube_size_mm' must be larger than 'marker_length_mm'")
            if not self.faces:
                raise ConfigError(f"{w}: key 'faces' must map face names (+x,-x,+y,-y,+z,-z) to marker ids")
            mpts, faces_l, seen = {}, [], set()
            h = self.marker_length_mm / 2.0
            for name, mid in self.faces:
                if name not in FACE_NORMALS:
                    raise ConfigError(f"{w}: key 'faces' has unknown face {name!r}; use +x,-x,+y,-y,+z,-z")
                if not isinstance(mid, (int, np.integer)) or not (0 <= mid < n_dict) or mid in seen:
                    raise ConfigError(f"{w}: key 'faces' marker id {mid!r} for {name} must be a unique int in 0..{n_dict - 1}")
                seen.add(int(mid))
                n = np.array(FACE_NORMALS[name], dtype=np.float64)
                u = np.array(FACE_RIGHT_AXIS[name], dtype=np.float64)
                v = np.cross(-n, u)
                c = n * self.cube_size_mm / 2.0
                mpts[int(mid)] = np.array([c + x * u + y * v for x, y in ((-h, -h), (h, -h), (h, h), (-h, h))])
                T = np.eye(4)
                T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = u, v, -n, c
                s = self.cube_size_mm
                faces_l.append(PlanarFace(T, (s, s), (-s / 2, -s / 2), (int(mid),)))
            ids = np.array(sorted(mpts), dtype=np.int32)
            objs = [mpts[int(i)].astype(np.float32) for i in ids]
            board = cv2.aruco.Board(objs, d, ids)
            faces = tuple(faces_l)
            set_("charuco_points", np.zeros((0, 3)))
            set_("charuco_neighbours", ())
        set_("marker_points", mpts)
        set_("planar_faces", faces)
        set_("cv_board", board)

    @property
    def is_planar(self) -> bool:
        """True when every point of the board lies in one plane."""
        return self.type == "charuco" or len(self.faces) == 1

    @property
    def n_markers(self) -> int:
        """Number of markers on the board."""
        return len(self.marker_points)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description (the file layout)."""
        if self.type == "charuco":
            d = {"type": "charuco", "dictionary": self.dictionary, "squares_x": self.squares_x,
                 "squares_y": self.squares_y, "square_length_mm": self.square_length_mm,
                 "marker_length_mm": self.marker_length_mm}
            if self.legacy_pattern:
                d["legacy_pattern"] = True
            return d
        return {"type": "aruco_cube", "dictionary": self.dictionary, "cube_size_mm": self.cube_size_mm,
                "marker_length_mm": self.marker_length_mm, "faces": {k: v for k, v in self.faces}}

    def save(self, path: str | Path) -> None:
        """Write the board JSON file."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")


_KEYS = {
    "charuco": {"type", "dictionary", "squares_x", "squares_y", "square_length_mm", "marker_length_mm", "legacy_pattern"},
    "aruco_cube": {"type", "dictionary", "cube_size_mm", "marker_length_mm", "faces"},
}
_REQUIRED = {
    "charuco": ("dictionary", "squares_x", "squares_y", "square_length_mm", "marker_length_mm"),
    "aruco_cube": ("dictionary", "cube_size_mm", "marker_length_mm", "faces"),
}


def board_from_dict(data: dict[str, Any], source: str = "<dict>") -> BoardSpec:
    """Validate a board description and build the :class:`BoardSpec`.

    Raises:
        ConfigError: unknown type, missing or unknown key, or a bad value (message names it).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a board file must hold a JSON object")
    kind = data.get("type")
    if kind not in _KEYS:
        raise ConfigError(f"{source}: key 'type' = {kind!r}; use one of {', '.join(BOARD_TYPES)}")
    unknown = set(data) - _KEYS[kind]
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(sorted(unknown))} for a {kind} board; allowed: {', '.join(sorted(_KEYS[kind]))}")
    for key in _REQUIRED[kind]:
        if key not in data:
            raise ConfigError(f"{source}: missing key '{key}' for a {kind} board")
    kw: dict[str, Any] = {"type": kind, "dictionary": data["dictionary"], "source": source}
    try:
        kw["marker_length_mm"] = float(data["marker_length_mm"])
        if kind == "charuco":
            for key in ("squares_x", "squares_y"):
                v = data[key]
                if isinstance(v, bool) or not isinstance(v, int):
                    raise ConfigError(f"{source}: key '{key}' must be an integer, got {v!r}")
                kw[key] = v
            kw["square_length_mm"] = float(data["square_length_mm"])
            kw["legacy_pattern"] = bool(data.get("legacy_pattern", False))
        else:
            kw["cube_size_mm"] = float(data["cube_size_mm"])
            faces = data["faces"]
            if not isinstance(faces, dict):
                raise ConfigError(f"{source}: key 'faces' must be an object like {{\"+x\": 0, \"-x\": 1}}")
            kw["faces"] = tuple((str(k), v) for k, v in faces.items())
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: a length key must be a number ({exc})") from None
    return BoardSpec(**kw)


def load_board(path_or_dict: str | Path | dict[str, Any]) -> BoardSpec:
    """Load a board from a JSON file path or an already-parsed dict.

    Raises:
        ConfigError: the file is missing, not JSON, or not a valid board description.
    """
    if isinstance(path_or_dict, dict):
        return board_from_dict(path_or_dict)
    data = load_json(path_or_dict, what="board file", error=ConfigError,
                     missing_fix="pass the board JSON that describes your marker",
                     corrupt_fix="pass the board JSON that describes your marker")
    return board_from_dict(data, source=str(path_or_dict))
