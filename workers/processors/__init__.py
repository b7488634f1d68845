"""One processor per IMM task type: it turns a task record into outputs in storage."""
