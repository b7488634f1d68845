"""The IMM 2020-09-30 wire protocol over HTTP."""
