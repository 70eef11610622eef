"""scalargrad.fit."""
