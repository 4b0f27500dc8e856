//! Command-line flags: filled by the foundation issue.
