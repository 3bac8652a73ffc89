"""pygocd: GoCD, the continuous-delivery server, rewritten in Python."""

__version__ = "0.1.0"
