"""Stages of the pricing app (the OpenRouter sync comes with its own issue)."""
