"""The run panel: Run/Cancel, progress, the estimate, the loss curve."""
