"""Imports: the CSV import engine, and the jobs that run it."""
