"""scalargrad.train."""
