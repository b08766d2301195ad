"""nst_tui: the Textual app and the `nst-tui` command line."""
