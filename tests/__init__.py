"""gta_keras tests."""
