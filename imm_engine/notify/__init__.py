"""Completion events: IMM's envelope, where each topic goes, and at-least-once delivery."""
