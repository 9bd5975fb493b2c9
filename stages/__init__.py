"""Saker stages: what runs. The version lives here so every stage reports the same one."""

VERSION = "0.1.0"
