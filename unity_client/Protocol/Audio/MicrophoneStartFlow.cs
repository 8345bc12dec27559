namespace Sonoguide.Protocol.Audio
{
    /// <summary>What <see cref="MicrophoneStartFlow.Step"/> asks the caller to do now.</summary>
    public enum MicrophoneAction
    {
        /// <summary>Nothing this frame.</summary>
        None,
        /// <summary>Show the system's permission dialog (Android/Quest: <c>Permission.RequestUserPermission</c>).</summary>
        RequestPermission,
        /// <summary>Start recording (<c>Microphone.Start</c>).</summary>
        Start,
    }

    /// <summary>Where starting the headset microphone stands.</summary>
    public enum MicrophoneState
    {
        /// <summary>Not asked yet.</summary>
        Idle,
        /// <summary>The permission dialog is up (or the user is in the system settings).</summary>
        WaitingForPermission,
        /// <summary>The user refused; never asked again, but a grant in the system settings is picked up.</summary>
        Denied,
        /// <summary>Permission granted but no microphone listed yet (Android lists none before the grant lands).</summary>
        WaitingForDevice,
        /// <summary>Asked to start; waiting to see it record.</summary>
        Starting,
        /// <summary>Recording.</summary>
        Recording,
    }

    /// <summary>
    /// Starts the headset microphone through the asynchronous permission flow of Android (Quest 3) and the device list
    /// that fills only after the grant: it requests the permission once, waits for the answer, then starts recording as
    /// soon as permission and a device are there, retrying a failed start. On a refusal it stops asking (a second
    /// dialog after "deny" is what Android's guidelines forbid) but keeps checking, so that a permission granted later in
    /// the system settings starts the microphone without restarting the app. Engine-free: the
    /// <c>MicrophoneStreamer</c> component feeds it the platform's answers each frame.
    /// </summary>
    /// <remarks>
    /// Android developer guide, "Request runtime permissions" (the request is asynchronous; do not ask again after a
    /// denial without the user's action). Unity: <c>UnityEngine.Android.Permission</c> and <c>PermissionCallbacks</c>.
    /// </remarks>
    public sealed class MicrophoneStartFlow
    {
        private readonly double _retryS;
        private readonly int _maxStartTries;
        private double _nextS = double.NegativeInfinity;
        private int _startTries;
        private bool _requested;
        private bool _denied;

        /// <param name="retryS">interval between checks while waiting for a device or after a failed start (s).</param>
        /// <param name="maxStartTries">failed starts before giving up (until <see cref="Reset"/>).</param>
        public MicrophoneStartFlow(double retryS = 0.5, int maxStartTries = 5)
        {
            _retryS = retryS;
            _maxStartTries = maxStartTries;
            State = MicrophoneState.Idle;
        }

        /// <summary>Where the flow stands.</summary>
        public MicrophoneState State { get; private set; }

        /// <summary>True after <c>maxStartTries</c> failed starts: the microphone is off until <see cref="Reset"/>.</summary>
        public bool GaveUp
        {
            get { return _startTries >= _maxStartTries && State != MicrophoneState.Recording; }
        }

        /// <summary>One line for the HUD or the log.</summary>
        public string Status
        {
            get
            {
                if (GaveUp) return "MIC FAILED TO START - voice from the headset is off";
                switch (State)
                {
                    case MicrophoneState.WaitingForPermission: return "MIC: waiting for permission";
                    case MicrophoneState.Denied: return "MIC PERMISSION DENIED - allow it in the system settings";
                    case MicrophoneState.WaitingForDevice: return "MIC: waiting for the microphone";
                    case MicrophoneState.Starting: return "MIC: starting";
                    case MicrophoneState.Recording: return "MIC ON";
                    default: return "MIC OFF";
                }
            }
        }

        /// <summary>The permission dialog was answered with a refusal (Unity's <c>PermissionDenied</c> callbacks).</summary>
        public void OnDenied()
        {
            _denied = true;
        }

        /// <summary>Start over (the component was re-enabled).</summary>
        public void Reset()
        {
            _nextS = double.NegativeInfinity;
            _startTries = 0;
            _requested = false;
            _denied = false;
            State = MicrophoneState.Idle;
        }

        /// <summary>Advance the flow.</summary>
        /// <param name="nowS">a monotonic time (s).</param>
        /// <param name="hasPermission">the platform says the microphone permission is granted (always true off Android).</param>
        /// <param name="deviceCount">microphones listed now.</param>
        /// <param name="recording">the microphone is recording now.</param>
        public MicrophoneAction Step(double nowS, bool hasPermission, int deviceCount, bool recording)
        {
            if (recording)
            {
                State = MicrophoneState.Recording;
                _startTries = 0;
                return MicrophoneAction.None;
            }
            if (State == MicrophoneState.Recording)
            {
                State = MicrophoneState.WaitingForDevice; // recording stopped (device unplugged, app paused): start again
                _nextS = nowS;
            }
            if (!hasPermission)
            {
                if (!_requested)
                {
                    _requested = true;
                    State = MicrophoneState.WaitingForPermission;
                    _nextS = nowS + _retryS;
                    return MicrophoneAction.RequestPermission;
                }
                if (_denied)
                {
                    State = MicrophoneState.Denied;
                }
                return MicrophoneAction.None;
            }
            if (GaveUp || nowS < _nextS && State != MicrophoneState.WaitingForPermission && State != MicrophoneState.Denied)
            {
                return MicrophoneAction.None;
            }
            if (deviceCount == 0)
            {
                State = MicrophoneState.WaitingForDevice;
                _nextS = nowS + _retryS;
                return MicrophoneAction.None;
            }
            State = MicrophoneState.Starting;
            _startTries++;
            _nextS = nowS + _retryS;
            return MicrophoneAction.Start;
        }
    }
}
