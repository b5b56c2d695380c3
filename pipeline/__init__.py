"""The blocks that turn contexts into scored pairs, and the durable job runner that executes them."""
