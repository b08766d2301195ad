"""The run store: run folders and records, the recorder, the run log, locks, safe writes, locations."""
