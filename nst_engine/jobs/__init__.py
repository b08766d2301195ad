"""Jobs: the queue of runs and its executors (threads over local devices, or a Ray cluster)."""
