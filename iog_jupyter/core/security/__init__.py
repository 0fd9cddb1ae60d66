"""Security: the audit log (``audit``), per-user quotas (``quotas``) and ``doctor``'s checks."""
