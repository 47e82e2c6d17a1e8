"""Stages of the storage app (the Azure container check comes with its own issue)."""
