"""Domain objects → wire messages, in one place.

Overlay composition turns one processed ultrasound frame into one :class:`OverlayMessage`;
:func:`state_message` and :func:`voice_message` turn the guidance state and a voice decision into
theirs (the heartbeat is built by the publisher from :class:`~ar_bridge.messages.HeartbeatMessage`).

Joins the segmentation, the needle and the probe pose at the frame's capture time with the
static calibration links into ``T_headset_from_image``::

    T_headset_from_image = T_headset_from_camera @ T_camera_from_marker @ T_marker_from_image

and applies what the clinician asked for (visible layers, freeze). Validity is carried, never
dropped: an overlay holds its capture time and a ``valid_until_ns``; a pose that is lost or
stale removes the placement matrices and says so in ``pose_validity``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ar_bridge.messages import NeedleOverlay, OverlayMessage, StateMessage, StructureOverlay, VoiceMessage
from core.pose import PoseMeasurement
from core.types import Frame, SegmentationResult, Validity
from sonoguide.state import GuidanceState
from voice.events import VoiceEvent


@dataclass(frozen=True)
class CalibrationChain:
    """The static links of the chain (from calibration files or the simulated rig).

    Attributes:
        T_headset_from_camera: tracking camera → headset (mm).
        T_marker_from_image: ultrasound image (px) → marker board (mm).
    """

    T_headset_from_camera: np.ndarray
    T_marker_from_image: np.ndarray

    def headset_from_image(self, T_camera_from_marker: np.ndarray) -> np.ndarray:
        """Compose the chain for one tracked pose."""
        return self.T_headset_from_camera @ T_camera_from_marker @ self.T_marker_from_image


def needle_overlay(result: Any) -> NeedleOverlay:
    """Map a :class:`vision.needle.NeedleResult` onto the wire's needle layer."""
    validity = result.validity.value if isinstance(result.validity, Validity) else str(result.validity)
    return NeedleOverlay(
        validity=validity, tip_px=result.tip_px, entry_px=result.entry_px, angle_deg=result.angle_deg,
        proximity=result.proximity, tip_distance_mm=dict(result.tip_distance_mm),
        trajectory_distance_mm=dict(result.trajectory_distance_mm), trajectory_px=result.trajectory_px)


class OverlayComposer:
    """Builds overlay messages and holds the content while the view is frozen.

    Args:
        chain: static calibration links, or ``None`` when the probe is not tracked.
        validity_ms: how long after capture an overlay is current.
        send_image: attach the ultrasound image.
    """

    def __init__(self, chain: CalibrationChain | None, validity_ms: float, send_image: bool = True) -> None:
        self.chain = chain
        self.validity_ns = int(validity_ms * 1e6)
        self.send_image = send_image
        self._held: OverlayMessage | None = None

    def compose(self, frame: Frame, seg: SegmentationResult | None, needle: Any | None,
                pose: PoseMeasurement | None, state: GuidanceState) -> OverlayMessage:
        """One overlay for ``frame``.

        Args:
            frame: the processed ultrasound frame.
            seg: its segmentation, or ``None`` when the stage is off.
            needle: its :class:`~vision.needle.NeedleResult`, or ``None`` when the stage is off.
            pose: the probe pose at the frame's capture time (from the pose buffer), or ``None``.
            state: the guidance state the frame is processed under.
        """
        content = self._content(frame, seg, needle, pose)
        frozen_at = None
        if state.frozen:
            if self._held is None:
                self._held = content
            content, frozen_at = self._held, self._held.t_capture_ns
        else:
            self._held = None
        layers = dict(state.layers)
        return dataclasses.replace(
            content, frame_seq=frame.seq, t_capture_ns=frame.t_capture_ns,
            valid_until_ns=frame.t_capture_ns + self.validity_ns, frozen=state.frozen, layers=layers,
            structures=tuple(s for s in content.structures if layers.get(s.cls, True)),
            needle=content.needle if layers.get("needle", True) else None, frozen_at_ns=frozen_at)

    def _content(self, frame: Frame, seg: SegmentationResult | None, needle: Any | None,
                 pose: PoseMeasurement | None) -> OverlayMessage:
        """Everything measured on ``frame``, before the layer choice and freeze are applied."""
        h, w = frame.image.shape[:2]
        mm = frame.mm_per_px or (float("nan"), float("nan"))
        px_area = float(mm[0] * mm[1])
        structures: list[StructureOverlay] = []
        quality, flags = 0.0, ("segmentation_off",)
        if seg is not None:
            quality, flags = seg.quality, tuple(seg.quality_flags)
            for i, s in enumerate(seg.structures):
                sid = s.track_id if s.track_id >= 0 else 10_000 + i
                structures.append(StructureOverlay(
                    id=int(sid), cls=s.cls, validity=s.validity.value, confidence=float(s.confidence),
                    area_mm2=float(s.area_px * px_area) if np.isfinite(px_area) else float("nan"),
                    contour_px=np.asarray(s.contour_px, dtype=np.float32)))
        T = None
        pose_validity, pose_age = Validity.LOST.value, None
        if pose is not None:
            pose_validity = pose.validity.value
            if pose.T_camera_from_board is not None:
                pose_age = (frame.t_capture_ns - pose.t_capture_ns) / 1e6
            if pose.usable and self.chain is not None:
                T = self.chain.headset_from_image(pose.T_camera_from_board)
        return OverlayMessage(
            frame_seq=frame.seq, t_capture_ns=frame.t_capture_ns,
            valid_until_ns=frame.t_capture_ns + self.validity_ns, image_size=(w, h),
            mm_per_px=(float(mm[0]), float(mm[1])), frozen=False, layers={},
            quality=float(quality), quality_flags=flags, pose_validity=pose_validity, pose_age_ms=pose_age,
            T_headset_from_image=T, structures=tuple(structures),
            needle=needle_overlay(needle) if needle is not None else None, source=frame.source,
            image=frame.image if (self.send_image and frame.image.ndim == 2) else None, frozen_at_ns=None)


def state_message(state: GuidanceState) -> StateMessage:
    """The ``state`` wire message for the guidance state."""
    return StateMessage(version=state.version, frozen=state.frozen, layers=dict(state.layers),
                        recording=state.recording, tracking=state.tracking,
                        pending_confirmation=state.pending_confirmation,
                        pending_deadline_ns=state.pending_deadline_ns, last_command=state.last_command,
                        snapshots=state.snapshots, noise_dbfs=state.noise_dbfs, voice_engine=state.voice_engine,
                        overloaded=state.overloaded)


def voice_message(event: VoiceEvent) -> VoiceMessage:
    """The ``voice`` wire message for one decision of the voice front end."""
    return VoiceMessage(t_end_ns=event.t_end_ns, t_event_ns=event.t_event_ns, text=event.text,
                        confidence=event.confidence, intent=event.intent, decision=event.decision.value,
                        reason=event.reason, engine=event.engine, noise_dbfs=event.noise_dbfs)
