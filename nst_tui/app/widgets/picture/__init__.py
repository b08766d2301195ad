"""Pictures in the terminal: half-block cells, terminal graphics, the preview pane."""
