"""The aiohttp app: counsellor UI, REST API /api/v1, the /inbox namespace, staff auth."""
