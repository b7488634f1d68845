"""Split page rendering: a large document's pages rendered by range sub-tasks on every worker
(docs/architecture.md, "Split page rendering")."""
