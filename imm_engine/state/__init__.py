"""Task records and the notification outbox, in Redis."""
