//! Where tests keep their servers' data.

use std::path::PathBuf;

/// The workspace's root directory (this crate lives in `crates/test-support`).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(|crates| crates.parent())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}

/// `<workspace>/target/test-infra`: private servers' data, one directory per
/// server, removed when the server goes.
pub fn test_infra_dir() -> PathBuf {
    workspace_root().join("target").join("test-infra")
}

/// A new, unique directory name under [`test_infra_dir`].
pub(crate) fn unique_dir(prefix: &str) -> PathBuf {
    test_infra_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()))
}
