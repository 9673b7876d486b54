"""The Textual app (`wb tui`)."""

if __name__ != "workbench.tui":  # pragma: no cover - guard against importing the folder directly
    raise ImportError("import this package as workbench.tui")
