//! Files that hold secrets (key files, exported grants): written whole or not
//! at all, private from the first byte, and refused when others can read them.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether an existing file at the destination is replaced or kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Replace it (atomically: readers see the old file or the new one).
    Replace,
    /// Fail with `AlreadyExists` and leave it untouched.
    Keep,
}

/// Writes `text` to `path` with 0600 rights: into a new file beside it
/// (`create_new`, so nothing else's file is reused), synced to disk, then
/// moved into place and the directory synced. A crash at any point leaves
/// the old file (or none) or the new one, never half of one.
pub fn write_private(path: &Path, text: &str, existing: Existing) -> std::io::Result<()> {
    let temporary = sibling(path);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        match existing {
            Existing::Replace => std::fs::rename(&temporary, path),
            // A link fails when the name exists: create-new for the real name.
            Existing::Keep => {
                std::fs::hard_link(&temporary, path)?;
                std::fs::remove_file(&temporary)
            }
        }
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    sync_parent(path)
}

/// Refuses a file that group or others may read (`chmod 600` fixes it).
pub fn ensure_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "it is readable by group or others (mode {mode:03o}): run `chmod 600 {}`",
                    path.display()
                ),
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{:016x}.tmp", rand::random::<u64>()))
}

fn sync_parent(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(parent) = path.parent() {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        std::fs::File::open(parent)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_file_is_private_whole_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.json");
        write_private(&path, "one", Existing::Keep).unwrap();
        write_private(&path, "two", Existing::Replace).unwrap();

        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        ensure_private(&path).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn keep_refuses_an_existing_file_and_leaves_it_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        write_private(&path, "first", Existing::Keep).unwrap();

        let error = write_private(&path, "second", Existing::Keep).unwrap_err();

        assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_refused_with_the_chmod_to_run() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "k").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        let error = ensure_private(&path).unwrap_err();

        assert!(error.to_string().contains("mode 644"), "{error}");
        assert!(error.to_string().contains("chmod 600"), "{error}");
    }
}
