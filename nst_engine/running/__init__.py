"""A run: the run loop and its events, progress, images in and out, outputs, saving, checkpoints."""
