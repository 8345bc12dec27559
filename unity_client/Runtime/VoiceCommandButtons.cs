using Sonoguide.Protocol.Control;
using UnityEngine;

namespace Sonoguide.Runtime
{
    /// <summary>
    /// Sends the voice intents as control commands (PROTOCOL.md, "Control channel"), for a non-sterile assistant or for testing:
    /// wire the public methods to any button (uGUI, MRTK, XR Interaction Toolkit) through its UnityEvent, or use the optional
    /// keyboard shortcuts in the Editor. Intents that need confirmation ("hide all") still wait for "confirm" from either channel.
    /// </summary>
    [AddComponentMenu("Sonoguide/Voice Command Buttons")]
    public sealed class VoiceCommandButtons : MonoBehaviour
    {
        [SerializeField] private SonoguideClient client;

#if ENABLE_LEGACY_INPUT_MANAGER
        [Tooltip("Keyboard shortcuts (Editor and desktop only): F freeze, U unfreeze, A show all, H hide all, C confirm, X cancel, S snapshot.")]
        [SerializeField] private bool keyboardShortcuts = true;
#endif

        /// <summary>The client the commands go to.</summary>
        public SonoguideClient Client
        {
            get { return client; }
            set { client = value; }
        }

        /// <summary>Send any command by name (e.g. from a UnityEvent with a string argument).</summary>
        public void Send(string command)
        {
            if (client == null)
            {
                Debug.LogWarning("[sonoguide] VoiceCommandButtons has no SonoguideClient assigned", this);
                return;
            }
            if (!Commands.IsKnown(command))
            {
                Debug.LogWarning("[sonoguide] '" + command + "' is not a sonoguide command; known: " + string.Join(", ", Commands.Intents), this);
                return;
            }
            client.SendCommand(command);
        }

        /// <summary>Hold the current view.</summary>
        public void Freeze() { Send("freeze"); }

        /// <summary>Resume the live view.</summary>
        public void Unfreeze() { Send("unfreeze"); }

        /// <summary>Show every layer.</summary>
        public void ShowAll() { Send("show all"); }

        /// <summary>Hide every layer (waits for "confirm").</summary>
        public void HideAll() { Send("hide all"); }

        /// <summary>Show nerve outlines.</summary>
        public void ShowNerve() { Send("show nerve"); }

        /// <summary>Hide nerve outlines.</summary>
        public void HideNerve() { Send("hide nerve"); }

        /// <summary>Show vessel outlines.</summary>
        public void ShowVessel() { Send("show vessel"); }

        /// <summary>Hide vessel outlines.</summary>
        public void HideVessel() { Send("hide vessel"); }

        /// <summary>Show the needle layer.</summary>
        public void ShowNeedle() { Send("show needle"); }

        /// <summary>Hide the needle layer.</summary>
        public void HideNeedle() { Send("hide needle"); }

        /// <summary>Confirm the pending intent.</summary>
        public void Confirm() { Send("confirm"); }

        /// <summary>Cancel the pending intent.</summary>
        public void Cancel() { Send("cancel"); }

        /// <summary>Save a snapshot on the core.</summary>
        public void Snapshot() { Send("snapshot"); }

        /// <summary>Start recording on the core.</summary>
        public void StartRecording() { Send("start recording"); }

        /// <summary>Stop recording on the core.</summary>
        public void StopRecording() { Send("stop recording"); }

#if ENABLE_LEGACY_INPUT_MANAGER
        private void Update()
        {
            if (!keyboardShortcuts || !Application.isEditor && Application.isMobilePlatform)
            {
                return;
            }
            if (Input.GetKeyDown(KeyCode.F)) Freeze();
            else if (Input.GetKeyDown(KeyCode.U)) Unfreeze();
            else if (Input.GetKeyDown(KeyCode.A)) ShowAll();
            else if (Input.GetKeyDown(KeyCode.H)) HideAll();
            else if (Input.GetKeyDown(KeyCode.C)) Confirm();
            else if (Input.GetKeyDown(KeyCode.X)) Cancel();
            else if (Input.GetKeyDown(KeyCode.S)) Snapshot();
        }
#endif
    }
}
