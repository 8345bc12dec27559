"""Audio sources: microphone, WAV file and the headset's PCM stream over ZeroMQ.

Every source delivers :class:`AudioChunk` s of 16 kHz mono int16 with the host time of their
first sample. Capture callbacks only enqueue (Vosk's examples: decoding happens on the consumer
side); :meth:`AudioSource.read` blocks up to a timeout. A missing device, file or endpoint raises
:class:`~core.errors.DeviceError` / :class:`~core.errors.InputError` /
:class:`~core.errors.NetworkError` with the fix.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from core.clock import now_ns
from core.errors import DeviceError, InputError, NetworkError
from voice.audio.resample import StreamingResampler
from voice.audio.wavio import float_to_int16, read_wav
from voice.config import ENGINE_RATE, VoiceInputConfig

log = logging.getLogger(__name__)

AUDIO_SCHEMA = "sonoguide.audio/1"
TOPIC_AUDIO = "audio"
MAX_AUDIO_MESSAGE_BYTES = 1 << 20
"""Largest headset audio message accepted; a larger one drops the sender's connection unread."""


@dataclass(frozen=True)
class AudioChunk:
    """A block of samples.

    Attributes:
        pcm: int16 mono samples at 16 kHz.
        t_capture_ns: host time of the first sample.
    """

    pcm: np.ndarray
    t_capture_ns: int


class AudioSource(Protocol):
    """Where the listener's audio comes from."""

    name: str

    def start(self) -> None:
        """Open the device / file / socket (raises the errors named above)."""

    def read(self, timeout: float = 0.5) -> AudioChunk | None:
        """Next chunk, or ``None`` when none arrived within ``timeout``."""

    @property
    def finished(self) -> bool:
        """True when the source will deliver nothing more (end of a non-looping file)."""

    def close(self) -> None:
        """Release the device / socket."""


class _QueueSource:
    """Shared queue plumbing: producers call :meth:`_put`, the consumer :meth:`read`."""

    name = "queue"

    def __init__(self, max_chunks: int = 500) -> None:
        self._q: queue.Queue[AudioChunk] = queue.Queue(max_chunks)
        self._done = threading.Event()
        self.dropped = 0

    def _put(self, chunk: AudioChunk) -> None:
        try:
            self._q.put_nowait(chunk)
        except queue.Full:  # the consumer is stalled: drop the oldest, keep the newest
            self.dropped += 1
            try:
                self._q.get_nowait()
                self._q.put_nowait(chunk)
            except (queue.Empty, queue.Full):
                pass

    def read(self, timeout: float = 0.5) -> AudioChunk | None:
        try:
            return self._q.get(timeout=timeout)
        except queue.Empty:
            return None

    @property
    def finished(self) -> bool:
        return self._done.is_set() and self._q.empty()


class WavSource(_QueueSource):
    """A WAV file, optionally at real-time pace and looping (the demo's scripted audio).

    Args:
        path: the file (any rate, channels or sample format :func:`read_wav` accepts).
        realtime: deliver chunks at the pace a microphone would.
        loop: start again at the end.
        chunk_s: chunk length.
    """

    def __init__(self, path: str, realtime: bool = True, loop: bool = False, chunk_s: float = 0.02) -> None:
        super().__init__(max_chunks=1 << 20 if not realtime else 500)
        self.path = path
        self.name = f"wav:{path}"
        self.realtime, self.loop = realtime, loop
        self._n = max(1, int(chunk_s * ENGINE_RATE))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pcm: np.ndarray | None = None

    def start(self) -> None:
        self.pcm, info = read_wav(self.path, ENGINE_RATE)
        log.info("WAV source %s: %.1f s (was %d Hz, %d channel(s), %s)", self.path, info.duration_s,
                 info.sample_rate, info.channels, info.dtype)
        self._thread = threading.Thread(target=self._run, name="voice-wav", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.pcm is not None
        t0 = now_ns()
        t_mono = time.monotonic()
        pos_total = 0
        while not self._stop.is_set():
            for k in range(0, len(self.pcm), self._n):
                if self._stop.is_set():
                    return
                block = self.pcm[k:k + self._n]
                t_first = t0 + int(pos_total * 1e9 / ENGINE_RATE)
                pos_total += len(block)
                if self.realtime:  # the block is "captured" when its last sample is
                    wait = t_mono + pos_total / ENGINE_RATE - time.monotonic()
                    if wait > 0:
                        self._stop.wait(wait)
                self._put(AudioChunk(block, t_first))
            if not self.loop:
                break
        self._done.set()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)


class MicrophoneSource(_QueueSource):
    """The default (or named) input device through sounddevice; the callback only enqueues.

    Captures at 16 kHz when the device allows, else at its default rate with streaming
    resampling on the consumer side.
    """

    def __init__(self, device: str = "", block_s: float = 0.02) -> None:
        super().__init__()
        self.device = int(device) if device.isdigit() else (device or None)
        self.name = f"microphone:{device or 'default'}"
        self._block_s = block_s
        self._stream = None
        self._resampler: StreamingResampler | None = None
        self._raw: queue.Queue = queue.Queue(500)

    def start(self) -> None:
        try:
            import sounddevice as sd
        except OSError as exc:  # PortAudio library missing
            raise DeviceError(f"no audio system ({exc}) - install libportaudio2 or use "
                              "voice.input.source = 'wav'") from None
        try:
            info = sd.query_devices(self.device, "input")
        except (ValueError, sd.PortAudioError) as exc:
            raise DeviceError(f"no microphone ({exc}) - connect one, set voice.input.microphone_device, or use "
                              f"voice.input.source = 'wav' / 'zmq'") from None
        rate = ENGINE_RATE
        try:
            sd.check_input_settings(self.device, channels=1, dtype="int16", samplerate=ENGINE_RATE)
        except (ValueError, sd.PortAudioError):
            rate = int(info["default_samplerate"])
            self._resampler = StreamingResampler(rate, ENGINE_RATE)
        self._rate = rate

        def callback(indata, frames, time_info, status) -> None:  # PortAudio thread: enqueue only
            try:
                self._raw.put_nowait((indata[:, 0].copy(), now_ns() - int(frames * 1e9 / rate)))
            except queue.Full:
                self.dropped += 1

        try:
            self._stream = sd.InputStream(device=self.device, channels=1, samplerate=rate, dtype="int16",
                                          blocksize=int(self._block_s * rate), callback=callback)
            self._stream.start()
        except (ValueError, sd.PortAudioError) as exc:
            raise DeviceError(f"cannot open microphone {self.name}: {exc}") from None
        log.info("microphone %s at %d Hz%s", info.get("name"), rate, " (resampled)" if self._resampler else "")

    def read(self, timeout: float = 0.5) -> AudioChunk | None:
        try:
            pcm, t = self._raw.get(timeout=timeout)
        except queue.Empty:
            return None
        if self._resampler is not None:
            pcm = float_to_int16(self._resampler.process(pcm.astype(np.float32) / 32768.0))
        return AudioChunk(pcm, t)

    @property
    def finished(self) -> bool:
        return False

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


def microphone_available(device: str = "") -> bool:
    """True when sounddevice finds an input device."""
    try:
        import sounddevice as sd

        sd.query_devices(int(device) if device.isdigit() else (device or None), "input")
        return True
    except Exception:  # noqa: BLE001 - any failure means "no usable microphone"
        return False


def encode_audio(pcm: np.ndarray, seq: int, t_capture_ns: int, sample_rate: int = ENGINE_RATE,
                 channels: int = 1, t_publish_ns: int | None = None) -> list[bytes]:
    """Headset side of the contract: ``[b"audio", header, pcm]`` with schema ``sonoguide.audio/1``.

    The header follows ``ar_bridge/schema.py`` (``schema``, ``seq``, ``t_capture_ns``,
    ``t_publish_ns``, ``arrays``, ``body``) so :func:`ar_bridge.schema.decode` reads it; it is
    built here so that the headset side does not depend on the PUB topic list. ``t_publish_ns``
    defaults to now (the golden file fixes it).
    """
    import json

    a = np.ascontiguousarray(np.asarray(pcm).astype("<i2").ravel())
    header = {"schema": AUDIO_SCHEMA, "seq": int(seq), "t_capture_ns": int(t_capture_ns),
              "t_publish_ns": now_ns() if t_publish_ns is None else int(t_publish_ns), "arrays": [{"name": "pcm", "dtype": "<i2", "shape": [len(a)]}],
              "body": {"sample_rate": int(sample_rate), "channels": int(channels)}}
    return [TOPIC_AUDIO.encode("ascii"), json.dumps(header, separators=(",", ":")).encode("utf-8"), a.tobytes()]


class ZmqAudioSource(_QueueSource):
    """16 kHz PCM from the headset: a PULL socket bound at ``endpoint`` (the headset PUSHes).

    Messages that break the contract are logged and skipped; a gap in ``seq`` is logged.
    Other sample rates are resampled.
    """

    def __init__(self, endpoint: str, socket_setup: Callable[[Any], None] | None = None) -> None:
        super().__init__()
        self.endpoint = endpoint
        self._setup = socket_setup  # e.g. CurveZMQ server keys (ar_bridge.security.CurveSecurity.setup)
        self.name = f"zmq:{endpoint}"
        self._stop = threading.Event()
        self._rebind = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: Exception | None = None
        self.received = 0
        self.rejected = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="voice-zmq", daemon=True)
        self._thread.start()
        if not self._ready.wait(30.0):
            raise NetworkError(f"the headset audio socket at {self.endpoint} did not open within 30 s - "
                               f"check that the machine is not overloaded and the endpoint is valid")
        if self._error is not None:
            raise self._error

    def rebind(self) -> None:
        """Re-create the socket so every headset connects and authenticates again (key revoked)."""
        self._rebind.set()

    def _open(self) -> Any:
        """A new PULL socket bound at the endpoint, retried briefly while the port frees.

        Raises:
            NetworkError: the endpoint cannot be bound.
        """
        import zmq

        deadline = time.monotonic() + 3.0
        while True:
            sock = zmq.Context.instance().socket(zmq.PULL)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.MAXMSGSIZE, MAX_AUDIO_MESSAGE_BYTES)
            try:
                if self._setup is not None:
                    self._setup(sock)
                sock.bind(self.endpoint)
                return sock
            except zmq.ZMQError as exc:
                sock.close(linger=0)
                if exc.errno != zmq.EADDRINUSE or not self._ready.is_set() or time.monotonic() > deadline:
                    raise NetworkError(f"cannot bind the headset audio socket at {self.endpoint}: {exc.strerror} - "
                                       f"set voice.input.zmq_endpoint to a free endpoint") from None
                time.sleep(0.02)

    def _run(self) -> None:
        import zmq

        from ar_bridge.schema import ProtocolError, decode

        try:
            sock = self._open()
        except NetworkError as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        resamplers: dict[int, StreamingResampler] = {}
        last_seq = None
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        try:
            while not self._stop.is_set():
                if self._rebind.is_set():
                    self._rebind.clear()
                    poller.unregister(sock)
                    sock.close(linger=0)
                    try:
                        sock = self._open()
                    except NetworkError as exc:
                        log.error("headset audio stopped: %s", exc)
                        self._error = exc
                        return
                    poller.register(sock, zmq.POLLIN)
                    last_seq = None
                    log.info("headset audio socket re-created: headsets reconnect and authenticate again")
                    continue
                if not poller.poll(100):
                    continue
                frames = sock.recv_multipart()
                try:
                    msg = decode(frames)
                    if msg.topic != TOPIC_AUDIO or msg.schema.rsplit("/", 1)[0] != AUDIO_SCHEMA.rsplit("/", 1)[0]:
                        raise ProtocolError(f"expected topic 'audio' schema {AUDIO_SCHEMA}, got {msg.topic} {msg.schema}")
                    rate = int(msg.body.get("sample_rate", 0))
                    ch = int(msg.body.get("channels", 0))
                    pcm = msg.arrays.get("pcm")
                    if pcm is None or pcm.dtype != np.dtype("<i2") or ch < 1 or not 4000 <= rate <= 192000:
                        raise ProtocolError(f"audio body needs sample_rate 4000..192000, channels >= 1 and an "
                                            f"int16 'pcm' array (got rate {rate}, channels {ch})")
                except (ProtocolError, ValueError, TypeError) as exc:
                    self.rejected += 1
                    log.warning("headset audio message rejected: %s", exc)
                    continue
                if last_seq is not None and msg.seq != last_seq + 1:
                    log.warning("headset audio: seq jumped %d -> %d (lost messages)", last_seq, msg.seq)
                last_seq = msg.seq
                x = pcm.astype(np.int16)
                if ch > 1:
                    x = x[: len(x) // ch * ch].reshape(-1, ch).mean(axis=1).astype(np.int16)
                if rate != ENGINE_RATE:
                    r = resamplers.setdefault(rate, StreamingResampler(rate, ENGINE_RATE))
                    x = float_to_int16(r.process(x.astype(np.float32) / 32768.0))
                self.received += 1
                self._put(AudioChunk(x, msg.t_capture_ns))
        finally:
            sock.close(linger=0)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)


def open_audio_source(config: VoiceInputConfig, socket_setup: Callable[[Any], None] | None = None, *,
                      demo: bool = False) -> AudioSource:
    """The source ``config.source`` names; the source is returned unstarted (the listener starts it).

    ``auto`` takes a microphone if one exists. Without one, only the demo (``demo=True``) falls
    back to the bundled scripted recording; a real session must never execute canned commands,
    so it gets a :class:`DeviceError` and runs without voice. Likewise ``source = "wav"`` with an
    empty ``wav_path`` means the scripted recording, which only the demo may use.

    Args:
        config: ``[voice.input]``.

    Raises:
        DeviceError: no microphone for ``auto`` outside the demo; unknown input kind.
        InputError: the WAV file is missing or not named.
    """
    kind = config.source
    if kind == "auto":
        if microphone_available(config.microphone_device):
            kind = "microphone"
        elif demo:
            log.warning("demo: no microphone found, voice commands come from the scripted recording %s in a loop",
                        config.demo_wav_path())
            return WavSource(str(config.demo_wav_path()), realtime=True, loop=True)
        else:
            raise DeviceError("voice.input.source = 'auto' found no microphone - connect one, set "
                              "voice.input.source = 'zmq' for the headset's microphone, or voice.enabled = false")
    if kind == "microphone":
        return MicrophoneSource(config.microphone_device)
    if kind == "wav":
        if not config.wav_path and not demo:
            raise InputError("voice.input.source = 'wav' needs voice.input.wav_path (the bundled scripted recording "
                             "is for 'sonoguide demo' only)")
        p = config.demo_wav_path()
        if not p.is_file():
            raise InputError(f"voice.input.wav_path {p} not found")
        return WavSource(str(p), realtime=config.wav_realtime, loop=config.wav_loop)
    if kind == "zmq":
        return ZmqAudioSource(config.zmq_endpoint, socket_setup)
    raise DeviceError(f"unknown voice.input.source {kind!r}")
