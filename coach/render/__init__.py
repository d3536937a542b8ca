"""What the person sees and hears: overlay, widgets, the display window, the ghost, tones and the voice. Draws
(and says), never decides."""

from coach import lazy_exports

# The public names, each imported from its module on first use (importing the package stays cheap).
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "Overlay": "overlay",
    "OverlayStyle": "overlay_widgets",
    "CvWindow": "display",
    "NoWindow": "display",
    "Sounds": "sound",
    "CuePicker": "voice",
    "SpokenCue": "voice",
    "VoiceSettings": "speech",
    "choose_sound": "speech",
})
