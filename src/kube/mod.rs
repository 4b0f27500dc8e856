//! kube: filled by its issue.
