"""scalargrad.core."""
