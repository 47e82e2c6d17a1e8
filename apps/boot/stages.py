"""Stages of the boot app: database migrations."""
