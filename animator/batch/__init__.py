"""Rendering many presets unattended: which need rendering, where they run, long videos split."""
