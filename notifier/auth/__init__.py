"""Auth: login, refresh and logout with JWTs whose revocations live in the database.

This `__init__` imports nothing: the app imports `routes` (the blueprint `blp`),
and a module of this package imported on its own (by the dispatcher, a tool, a
model of another feature) does not load the routes and the whole API with them.
"""
