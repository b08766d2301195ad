"""The built-in gallery: images nst-tui may ship, listed with their credits in gallery.toml.

Installed as the package `nst_styles` so that the gallery travels with the program.
"""
