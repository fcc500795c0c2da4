"""Asset checks, together: blocking data-quality gates and the champion gate's report."""
