"""The bottom layer: settings, errors and shared types. Imports nothing else of the project."""
