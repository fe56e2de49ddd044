//! What a campaign's results were measured on, as hashes that two machines
//! agree on only if they ran the same thing: the series, each extra patch,
//! each kernel's cache key. Results that differ in any of them do not merge.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::kernel::Kernel;

/// The SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The SHA-256 of a file's content.
pub fn file_hash(path: &Path) -> Result<String> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(sha256_hex(&bytes))
}

/// The series' identity: a hash over every file in `patches/` (its name and
/// content, in name order), the cover letter and `series` included.
pub fn series(repo: &Path) -> Result<String> {
    let dir = repo.join("patches");
    let mut files = fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|entry| Ok(entry?.path()))
        .collect::<Result<Vec<_>>>()?;
    files.retain(|p| p.is_file());
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let content = fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(&content);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// A kernel build's cache key: the name of its directory in the cache,
/// variant, extra patch and the hash of every input (not where the cache is).
pub fn cache_key(kernel: &Kernel) -> String {
    kernel
        .build_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| kernel.build_dir.display().to_string())
}

/// A file's name without its directory: what results say of a patch, so
/// that two checkouts in different places agree.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_hash_follows_every_patch_file_and_only_them() {
        let dir = std::env::temp_dir().join(format!("shrinkfs-identity-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("patches/sub")).unwrap();
        fs::write(dir.join("patches/series"), "0001-a.patch\n").unwrap();
        fs::write(dir.join("patches/0001-a.patch"), "a").unwrap();
        let first = series(&dir).unwrap();
        fs::write(dir.join("patches/sub/ignored"), "x").unwrap();
        assert_eq!(series(&dir).unwrap(), first, "directories are not patches");
        fs::write(dir.join("patches/0001-a.patch"), "b").unwrap();
        let changed = series(&dir).unwrap();
        fs::rename(
            dir.join("patches/0001-a.patch"),
            dir.join("patches/0001-b.patch"),
        )
        .unwrap();
        let renamed = series(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_ne!(changed, first);
        assert_ne!(renamed, changed);
        assert_eq!(first.len(), 64);
    }

    #[test]
    fn a_cache_key_is_the_build_dirs_name() {
        let kernel = Kernel {
            build_dir: "/cache/kernels/patched+m-0123456789abcdef".into(),
            version: String::new(),
        };
        assert_eq!(cache_key(&kernel), "patched+m-0123456789abcdef");
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
