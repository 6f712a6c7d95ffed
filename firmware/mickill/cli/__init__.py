"""The mickill command line: one module per command group."""
