"""The CLI for people: `imm-engine convert` and `imm-engine tasks`, clients of the API.

They talk to the service only as any IMM user does (the official SDK, the configured storage
and the notification route of topic `imm-engine-cli`); see docs/cli.md.
"""
