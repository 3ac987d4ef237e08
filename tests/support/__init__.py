"""Helpers the test levels share: free ports, real processes, waiting for HTTP."""
