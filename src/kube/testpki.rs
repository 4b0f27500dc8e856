//! Test-only helpers for the kube module: the committed test PKI (`testdata/`, made by
//! `testdata/gen.sh`) and a self-removing temporary directory. Not built outside tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub(crate) struct Pki {
    pub(crate) ca_pem: &'static [u8],
    pub(crate) client_cert_pem: &'static [u8],
    pub(crate) client_key_pem: &'static [u8],
    pub(crate) other_key_pem: &'static [u8],
}

impl Pki {
    pub(crate) fn get() -> Pki {
        Pki {
            ca_pem: include_bytes!("testdata/ca.pem"),
            client_cert_pem: include_bytes!("testdata/client.pem"),
            client_key_pem: include_bytes!("testdata/client.key"),
            other_key_pem: include_bytes!("testdata/other.key"),
        }
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "kube-bgp-{}-{}-{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
