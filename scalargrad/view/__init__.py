"""scalargrad.view."""
