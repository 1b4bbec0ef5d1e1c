"""Music: what a sound file says about each frame (loudness, onsets, beats, bands) for schedules."""
