"""Email: an SMTP listener on the serve loop, a parse-and-route job, and outbound via a relay."""
