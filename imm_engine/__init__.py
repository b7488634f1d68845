"""imm-engine: a self-hosted, wire-compatible replacement for Alibaba Cloud IMM async tasks."""

__version__ = "0.1.0"
