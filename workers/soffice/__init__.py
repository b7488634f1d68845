"""A warm LibreOffice per worker process, driven over UNO."""
