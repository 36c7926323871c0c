"""Exchange bundles between offices: export, verify, preview, merge, resolve."""
