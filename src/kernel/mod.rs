//! kernel: filled by its issue.
