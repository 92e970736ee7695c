"""Reporters: the JSON report (schema dscan-report/1) and the terminal summary."""
