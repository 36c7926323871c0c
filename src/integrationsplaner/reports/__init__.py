"""Printed output (reportlab): evaluation sheets, review reports, catalogue, directory."""
