//! cluster: filled by its issue.
