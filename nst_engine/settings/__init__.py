"""Settings: RunConfig and its values, presets, VGG19's layers, sizes, the gallery."""
