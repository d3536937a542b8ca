"""What the person sees and hears: overlay, widgets, the display window, the ghost, sounds. Draws, never decides."""
