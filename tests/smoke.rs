//! Smoke test of the shared test helpers (namespaces, veth, cleanup).
mod common;

#[test]
fn netns_veth_and_cleanup() {
    if !common::require_root("netns_veth_and_cleanup") {
        return;
    }
    let name;
    {
        let a = common::Netns::new("smk");
        let b = common::Netns::new("smk");
        common::veth(&a, &["10.77.0.1/30"], &b, &["10.77.0.2/30"]);
        let out = a.sh("ip -4 addr show");
        assert!(out.contains("10.77.0.1/30"), "{out}");
        name = a.name.clone();
    }
    let list = common::sh("ip netns list");
    assert!(
        !list.contains(&name),
        "namespace {name} left behind: {list}"
    );
}
