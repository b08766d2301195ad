"""The form's widgets: fields, images, layers, optimiser, sizes, the output name, presets."""
