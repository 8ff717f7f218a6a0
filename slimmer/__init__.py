"""slimmer: container image minifier with dynamic tracing."""

__version__ = "0.1.0"
