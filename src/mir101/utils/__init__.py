"""Shared helpers: registries, atomic files, cache folders, pitch conversions, seeding."""

from mir101.utils.io import atomic_path, cache_dir, stable_hash
from mir101.utils.pitch import hz_to_midi, midi_to_hz, note_name
from mir101.utils.registry import Registry

__all__ = [
    "Registry",
    "atomic_path",
    "cache_dir",
    "stable_hash",
    "hz_to_midi",
    "midi_to_hz",
    "note_name",
]
