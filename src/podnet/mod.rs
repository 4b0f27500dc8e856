//! The pod network on this node (kube-router's host setup of its routing controller).
mod egress;
mod nfmsg;
