"""The Textual app: the App, its queue actions, the run driver, the terminal, commands, messages."""
