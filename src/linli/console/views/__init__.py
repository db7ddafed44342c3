"""Console pages, one module per domain (thin: they call selectors and actions)."""

from linli.console.views.shell import error_403, error_404, error_500

__all__ = ["error_403", "error_404", "error_500"]
