"""Metrics and calibration: how good an answer is, and turning raw scores into trustworthy ones."""
