"""Phone: residents' callback requests, the claim queue, and counsellors' call logs (HTTP)."""
