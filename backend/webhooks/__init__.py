"""Webhooks: registered receivers, signed asynchronous deliveries with retries, and their log."""
