"""Triggers: what starts runs besides a manual API call (schedules, events, S3, webhooks)."""
