"""The domain and its store: models, the services that are the only writers, queries."""
