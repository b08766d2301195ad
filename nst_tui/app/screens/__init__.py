"""Screens of the app: the main form, help, and the maximised preview."""
