"""Batches: one template sent to many recipients in one request (`/batches`)."""
