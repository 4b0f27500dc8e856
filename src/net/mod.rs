//! net: filled by its issue.
