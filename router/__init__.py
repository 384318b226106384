"""The routing pipeline: small named rules that each record their decision and why."""
