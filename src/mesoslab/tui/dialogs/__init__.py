"""Modal dialogs of the mesoslab app (one per module): they ask, or run one job, and close."""
