using System;
using Sonoguide.Protocol.Audio;
using UnityEngine;

namespace Sonoguide.Runtime
{
    /// <summary>
    /// Streams the headset microphone to the core's voice front end (PROTOCOL.md, "Headset audio": 16-bit mono PCM at 16 kHz in
    /// chunks of 20–100 ms, schema <c>sonoguide.audio/1</c>), resampling when the device cannot record at 16 kHz. Off unless
    /// enabled and the client has an audio endpoint. The theatre's speech leaves the headset: enable it only on a CurveZMQ link.
    /// </summary>
    [AddComponentMenu("Sonoguide/Microphone Streamer")]
    public sealed class MicrophoneStreamer : MonoBehaviour
    {
        [SerializeField] private SonoguideClient client;

        [Tooltip("Microphone device name; empty: the default device.")]
        [SerializeField] private string deviceName = "";

        [Tooltip("Chunk length (ms), 20..100.")]
        [Range(20, 100)] [SerializeField] private int chunkMs = 40;

        private AudioClip _clip;
        private int _rate;
        private int _readPos;
        private float[] _pending = new float[0];
        private int _pendingCount;
        private StreamingResampler _resampler;
        private AudioStreamEncoder _encoder;
        private RateLimitedLog _log;
        private readonly MicrophoneStartFlow _flow = new MicrophoneStartFlow();
        private MicrophoneState _lastState;
        private bool _reportedGiveUp;

        /// <summary>The client whose audio endpoint receives the stream.</summary>
        public SonoguideClient Client
        {
            get { return client; }
            set { client = value; }
        }

        private string Device
        {
            get { return string.IsNullOrEmpty(deviceName) ? null : deviceName; }
        }

        /// <summary>Where starting the microphone stands, for the HUD ("MIC: waiting for permission", "MIC ON", ...).</summary>
        public string Status
        {
            get { return _flow.Status; }
        }

        private void OnEnable()
        {
            _log = new RateLimitedLog(this);
            _flow.Reset();
            _lastState = _flow.State;
        }

        /// <summary>The platform's answer: on Android (Quest) the runtime permission, elsewhere always granted
        /// (HoloLens declares the Microphone capability in the app manifest instead).</summary>
        private static bool HasPermission()
        {
#if UNITY_ANDROID && !UNITY_EDITOR
            return UnityEngine.Android.Permission.HasUserAuthorizedPermission(UnityEngine.Android.Permission.Microphone);
#else
            return true;
#endif
        }

        private void RequestPermission()
        {
#if UNITY_ANDROID && !UNITY_EDITOR
            var callbacks = new UnityEngine.Android.PermissionCallbacks();
            callbacks.PermissionDenied += _ => _flow.OnDenied();
            callbacks.PermissionDeniedAndDontAskAgain += _ => _flow.OnDenied();
            UnityEngine.Android.Permission.RequestUserPermission(UnityEngine.Android.Permission.Microphone, callbacks);
#endif
        }

        /// <summary>Advance the permission and start flow (<see cref="MicrophoneStartFlow"/>): ask once, start when
        /// permission and a device are there, retry a failed start.</summary>
        private void StepStartFlow()
        {
            bool recording = _clip != null && Microphone.IsRecording(Device);
            var action = _flow.Step(Time.unscaledTime, HasPermission(), Microphone.devices.Length, recording);
            if (action == MicrophoneAction.RequestPermission)
            {
                RequestPermission();
            }
            else if (action == MicrophoneAction.Start)
            {
                StartRecording();
            }
            if (_flow.State != _lastState || (_flow.GaveUp && !_reportedGiveUp))
            {
                _lastState = _flow.State;
                _reportedGiveUp = _flow.GaveUp;
                if (_flow.State == MicrophoneState.Recording || _flow.State == MicrophoneState.Starting)
                {
                    Debug.Log("[sonoguide] " + _flow.Status, this);
                }
                else
                {
                    Debug.LogWarning("[sonoguide] " + _flow.Status + (_flow.State == MicrophoneState.WaitingForDevice
                        ? " (on HoloLens enable the Microphone capability)" : ""), this);
                }
            }
        }

        private void StartRecording()
        {
            int min, max;
            Microphone.GetDeviceCaps(Device, out min, out max);
            bool any = min == 0 && max == 0;
            _rate = any || (min <= AudioStreamEncoder.SampleRate && AudioStreamEncoder.SampleRate <= max) ? AudioStreamEncoder.SampleRate : max;
            _clip = Microphone.Start(Device, true, 1, _rate);
            _rate = _clip != null ? _clip.frequency : _rate;
            _resampler = new StreamingResampler(_rate, AudioStreamEncoder.SampleRate);
            _encoder = new AudioStreamEncoder();
            _readPos = 0;
            _pendingCount = 0;
        }

        private void OnDisable()
        {
            if (_clip != null)
            {
                Microphone.End(Device);
                _clip = null;
            }
        }

        private void Update()
        {
            StepStartFlow();
            var session = client != null ? client.Session : null;
            if (_clip == null || session == null || !Microphone.IsRecording(Device))
            {
                return;
            }
            int pos = Microphone.GetPosition(Device);
            int available = (pos - _readPos + _clip.samples) % _clip.samples;
            if (available == 0)
            {
                return;
            }
            var block = new float[available * _clip.channels];
            _clip.GetData(block, _readPos);
            _readPos = pos;
            var mono = ToMono(block, _clip.channels);
            Append(_resampler.Process(mono));
            int chunk = AudioStreamEncoder.SampleRate * chunkMs / 1000;
            while (_pendingCount >= chunk)
            {
                var samples = new float[chunk];
                Array.Copy(_pending, 0, samples, 0, chunk);
                Array.Copy(_pending, chunk, _pending, 0, _pendingCount - chunk);
                _pendingCount -= chunk;
                if (!session.HostClockKnown)
                {
                    continue; // no host time yet: the core could not place the audio in time
                }
                long now = session.HostNowNs();
                // The chunk's first sample was captured (pending + chunk) samples before now.
                long capture = now - (long)((_pendingCount + chunk) * 1e9 / AudioStreamEncoder.SampleRate);
                if (!session.Worker.SendAudio(_encoder.Encode(Pcm16.FromFloat(samples), capture, now)))
                {
                    _log.Warning("the client has no audio endpoint; set it on the SonoguideClient");
                }
            }
        }

        private static float[] ToMono(float[] interleaved, int channels)
        {
            if (channels == 1)
            {
                return interleaved;
            }
            var mono = new float[interleaved.Length / channels];
            for (int i = 0; i < mono.Length; i++)
            {
                float sum = 0f;
                for (int c = 0; c < channels; c++) sum += interleaved[i * channels + c];
                mono[i] = sum / channels;
            }
            return mono;
        }

        private void Append(float[] samples)
        {
            if (_pending.Length < _pendingCount + samples.Length)
            {
                Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingCount + samples.Length));
            }
            Array.Copy(samples, 0, _pending, _pendingCount, samples.Length);
            _pendingCount += samples.Length;
        }
    }
}
