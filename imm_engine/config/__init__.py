"""How configuration is read: one typed object (imm_engine/settings.py) built from variables.

`source` reads `IMM_*` variables from a mapping (the environment at start), `fields` turns their
text into typed values with messages naming the variable, `sections` validates a JSON section
(a notification destination's options) with its typed model, and `env_refs` is the one way a
JSON section (`IMM_STORAGE_CONFIG`, `IMM_NOTIFY_TOPICS`) names a secret held in another variable.
"""
