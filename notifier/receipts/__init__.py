"""Delivery receipts: whether a sent notification reached the person."""
