"""The dispatcher: claims due notifications and hands them to the delivery service."""
