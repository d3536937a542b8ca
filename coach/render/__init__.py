"""What the person sees and hears: overlay, widgets, the display window, the ghost, sounds. Draws, never decides."""

from coach import lazy_exports

# The public names, each imported from its module on first use (importing the package stays cheap).
__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "Overlay": "overlay",
    "OverlayStyle": "overlay_widgets",
    "CvWindow": "display",
    "NoWindow": "display",
    "Sounds": "sound",
})
