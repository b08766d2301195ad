"""Screens of the app: the main one (form, run, preview), the history and one past run, the
queue, the sweep, help, and the dialogs (confirm, file picker, presets). The maximised
preview is no screen of its own: the main screen maximises its preview pane."""
