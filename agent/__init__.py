"""incident-agent: PagerDuty work in plain words, every page behind a human approval."""
