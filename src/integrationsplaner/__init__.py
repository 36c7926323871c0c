"""Integrationsplaner: plan and review the integration policy of a district and its offices."""

__version__ = "0.1.0"
