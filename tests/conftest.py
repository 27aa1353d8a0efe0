"""Shared fixtures: the recording plan fixture, the AWS endpoint fixture."""
