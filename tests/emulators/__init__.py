"""Exchange emulators for tests (loopback servers that real ccxt clients talk to)."""
