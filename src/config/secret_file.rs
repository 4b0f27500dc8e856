//! Reading a file that holds secrets (`--peer-router-passwords-file`,
//! `--bgp-node-password-file`): refused when group or others may read or write it (the
//! secret would be exposed to every local user; the mode is checked on the opened file,
//! so it cannot change in between), when it is not a regular file, or when it is larger
//! than any list of keys.
//!
//! Owns: the permission and size checks. Must not: log, keep or echo the contents (the
//! caller decodes them; errors here never contain them).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Largest secret file read (a few base64 keys fit in far less).
const MAX_SECRET_FILE: u64 = 64 << 10;

/// The contents of `path`, or why it cannot be used (without the contents).
pub(crate) fn read_private(path: &Path) -> Result<Vec<u8>, String> {
    let mut f = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let meta = f.metadata().map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "mode {mode:04o} lets group or others access it; make it readable by its owner \
             only (chmod 600; for a Kubernetes Secret volume, defaultMode: 0600)"
        ));
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(format!(
            "{} bytes; a secret file holds at most {MAX_SECRET_FILE}",
            meta.len()
        ));
    }
    let mut buf = Vec::new();
    f.by_ref()
        .take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read: {e}"))?;
    if buf.len() as u64 > MAX_SECRET_FILE {
        return Err(format!("more than {MAX_SECRET_FILE} bytes"));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, body: &[u8], mode: u32) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kbsecret{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let p = dir.join(name);
        std::fs::write(&p, body).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    #[test]
    fn owner_only_files_are_read_others_refused_without_their_contents() {
        let ok = temp("ok", b"c2VjcmV0\n", 0o600);
        assert_eq!(read_private(&ok).expect("readable"), b"c2VjcmV0\n");
        let ro = temp("ro", b"c2VjcmV0", 0o400);
        assert!(read_private(&ro).is_ok());
        for (name, mode) in [("g", 0o640), ("o", 0o604), ("w", 0o620), ("all", 0o644)] {
            let p = temp(name, b"c2VjcmV0", mode);
            let e = read_private(&p).expect_err("refused");
            assert!(e.contains("chmod 600"), "{e}");
            assert!(!e.contains("c2VjcmV0"), "{e}");
        }
        let dir = std::env::temp_dir();
        assert!(read_private(&dir).expect_err("dir").contains("regular"));
        let missing = dir.join("kbsecret-missing-file");
        assert!(
            read_private(&missing)
                .expect_err("missing")
                .contains("cannot read")
        );
        let big = temp("big", &vec![b'a'; 70_000], 0o600);
        assert!(read_private(&big).expect_err("big").contains("bytes"));
        let _ = std::fs::remove_dir_all(ok.parent().expect("dir"));
    }
}
