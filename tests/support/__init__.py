"""Helpers shared by the test layers (tests/README.md lists the modules); no tests here."""
