"""Devices: registration, FCM token ownership, and the device view the push capability reads."""
