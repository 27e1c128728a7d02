"""API keys: long-lived credentials for a user's servers, with scopes and test keys.

This package's `__init__` imports nothing: `notifier.auth.principal` reads the
`models` and `credentials` modules, and `routes` imports `principal`; loading
`routes` from here would make that an import cycle. The app imports `routes`.
"""
