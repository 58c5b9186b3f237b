"""Prefect flows: the order of the stages, retries, schedules and fan-out."""
