"""The operator's workspace: My Queue, its inspector, notes and escalations."""
