"""Courier rest stations (驿站): the finder, live status, duty rota and log, lockers, facility issues."""
