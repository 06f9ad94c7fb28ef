"""Layout pieces: one UI region per module, each exposing ``render(...)``."""
