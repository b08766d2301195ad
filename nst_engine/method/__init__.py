"""The method: VGG19 features, the losses and their statistics, colour, weights."""
