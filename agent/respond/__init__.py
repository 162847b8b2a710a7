"""The incident-response graph's state and the small pure helpers its nodes use."""
