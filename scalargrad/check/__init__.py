"""scalargrad.check."""
