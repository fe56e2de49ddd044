// SPDX-License-Identifier: GPL-2.0

//! The synthetic namespace of a shrinkfs mount, as pure arithmetic.
//!
//! A mount with `depth=D,fanout=F,files=N` is a complete `F`-ary tree of
//! directories `D` levels below the root, every directory holding `N` regular
//! files. Nothing is stored: names, inode numbers, listings and file contents
//! are all computed from the geometry, so the module's memory is exactly the
//! dcache's and the icache's.
//!
//! Directories are numbered breadth-first (`0` is the root; the children of
//! directory `d` are `F*d + 1 ..= F*d + F`). Inode numbers: directory `d` is
//! `1 + d`; file `j` of directory `d` is `1 + dirs + d*N + j`. Names are `dK`
//! for the `K`-th subdirectory and `fJ` for the `J`-th file.
//!
//! This file uses `core` only: it is a module of the kernel crate and, on the
//! host, of a test crate that `cargo test` runs.

use core::fmt;

/// Bounds of the mount options.
pub(crate) const MAX_DEPTH: u32 = 32;
pub(crate) const MAX_FANOUT: u32 = 4096;
pub(crate) const MAX_FILES: u32 = 1 << 20;
/// Cap on directories plus files, so one mount cannot exhaust memory.
pub(crate) const MAX_INODES: u64 = 1 << 24;

pub(crate) const DEFAULT_DEPTH: u32 = 3;
pub(crate) const DEFAULT_FANOUT: u32 = 8;
pub(crate) const DEFAULT_FILES: u32 = 4;

/// What a bad geometry is wrong about; `Display` is the one-line reason the
/// mount prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GeometryError {
    Depth,
    Fanout,
    Files,
    TooLarge,
}

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GeometryError::Depth => write!(f, "depth must be 0..{MAX_DEPTH}"),
            GeometryError::Fanout => write!(f, "fanout must be 1..{MAX_FANOUT}"),
            GeometryError::Files => write!(f, "files must be 0..{MAX_FILES}"),
            GeometryError::TooLarge => {
                write!(f, "depth, fanout and files give over {MAX_INODES} inodes")
            }
        }
    }
}

/// What an inode of the tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Node {
    /// Directory number `d` (breadth-first; the root is 0).
    Dir(u64),
    /// File `index` of directory `dir`.
    File { dir: u64, index: u32 },
}

/// One entry of a directory listing, after `.` and `..`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) node: Node,
    pub(crate) ino: u64,
}

impl Entry {
    /// The entry's name: `dK` or `fJ`.
    pub(crate) fn name(&self, geometry: &Geometry) -> Name {
        match self.node {
            Node::Dir(d) => Name {
                prefix: b'd',
                number: geometry.child_index(d),
            },
            Node::File { index, .. } => Name {
                prefix: b'f',
                number: index as u64,
            },
        }
    }
}

/// A name of the tree, formatted without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Name {
    prefix: u8,
    number: u64,
}

impl Name {
    /// Writes the name into `buf`, returning the used part.
    pub(crate) fn write<'a>(&self, buf: &'a mut [u8; 24]) -> &'a [u8] {
        let mut digits = [0u8; 20];
        let mut n = self.number;
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        buf[0] = self.prefix;
        for i in 0..len {
            buf[1 + i] = digits[len - 1 - i];
        }
        &buf[..=len]
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.prefix as char, self.number)
    }
}

/// The shape of one mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    depth: u32,
    fanout: u32,
    files: u32,
    dirs: u64,
}

impl Default for Geometry {
    fn default() -> Self {
        Self::new(DEFAULT_DEPTH, DEFAULT_FANOUT, DEFAULT_FILES).expect("valid defaults")
    }
}

impl Geometry {
    pub(crate) fn new(depth: u32, fanout: u32, files: u32) -> Result<Self, GeometryError> {
        if depth > MAX_DEPTH {
            return Err(GeometryError::Depth);
        }
        if !(1..=MAX_FANOUT).contains(&fanout) {
            return Err(GeometryError::Fanout);
        }
        if files > MAX_FILES {
            return Err(GeometryError::Files);
        }
        // 1 + F + F^2 + ... + F^D, stopping as soon as it passes the cap.
        let mut dirs: u64 = 0;
        let mut level: u64 = 1;
        for _ in 0..=depth {
            dirs += level;
            if dirs > MAX_INODES {
                return Err(GeometryError::TooLarge);
            }
            level = level.saturating_mul(fanout as u64);
        }
        let inodes = dirs.saturating_mul(1 + files as u64);
        if inodes > MAX_INODES {
            return Err(GeometryError::TooLarge);
        }
        Ok(Self {
            depth,
            fanout,
            files,
            dirs,
        })
    }

    /// The `depth`, `fanout` and `files` it was made with.
    pub(crate) fn shape(&self) -> (u32, u32, u32) {
        (self.depth, self.fanout, self.files)
    }

    /// Number of directories, the root included.
    #[cfg(test)]
    pub(crate) fn dirs(&self) -> u64 {
        self.dirs
    }

    /// Number of regular files.
    pub(crate) fn file_count(&self) -> u64 {
        self.dirs * self.files as u64
    }

    pub(crate) fn root_ino(&self) -> u64 {
        1
    }

    pub(crate) fn ino(&self, node: Node) -> u64 {
        match node {
            Node::Dir(d) => 1 + d,
            Node::File { dir, index } => 1 + self.dirs + dir * self.files as u64 + index as u64,
        }
    }

    /// The node behind an inode number, if the tree has one.
    pub(crate) fn node(&self, ino: u64) -> Option<Node> {
        let n = ino.checked_sub(1)?;
        if n < self.dirs {
            return Some(Node::Dir(n));
        }
        let f = n - self.dirs;
        if f >= self.file_count() {
            return None;
        }
        // Checked: with no files per directory there is no file inode.
        let files = self.files as u64;
        Some(Node::File {
            dir: f.checked_div(files)?,
            index: f.checked_rem(files)? as u32,
        })
    }

    /// Level of directory `d` (the root is level 0).
    pub(crate) fn level(&self, d: u64) -> u32 {
        let mut first = 0u64;
        let mut width = 1u64;
        let mut level = 0;
        while d >= first + width {
            first += width;
            width *= self.fanout as u64;
            level += 1;
        }
        level
    }

    /// Number of subdirectories of directory `d`.
    pub(crate) fn subdirs(&self, d: u64) -> u32 {
        if self.level(d) < self.depth {
            self.fanout
        } else {
            0
        }
    }

    /// Number of entries of directory `d`, `.` and `..` not counted.
    #[cfg(test)]
    pub(crate) fn entries(&self, d: u64) -> u64 {
        self.subdirs(d) as u64 + self.files as u64
    }

    /// The parent of directory `d`; the root is its own parent.
    pub(crate) fn parent(&self, d: u64) -> u64 {
        // `fanout` is at least 1; checked all the same, so no division can panic.
        d.checked_sub(1)
            .and_then(|n| n.checked_div(self.fanout as u64))
            .unwrap_or(0)
    }

    /// Which child of its parent directory `d` is (`K` of its name `dK`).
    fn child_index(&self, d: u64) -> u64 {
        d.checked_sub(1)
            .and_then(|n| n.checked_rem(self.fanout as u64))
            .unwrap_or(0)
    }

    /// The `i`-th entry of directory `d` (subdirectories first, then files).
    pub(crate) fn entry(&self, d: u64, i: u64) -> Option<Entry> {
        let subdirs = self.subdirs(d) as u64;
        let node = if i < subdirs {
            Node::Dir(self.fanout as u64 * d + 1 + i)
        } else if i < subdirs + self.files as u64 {
            Node::File {
                dir: d,
                index: (i - subdirs) as u32,
            }
        } else {
            return None;
        };
        Some(Entry {
            node,
            ino: self.ino(node),
        })
    }

    /// Looks `name` up in directory `d`.
    pub(crate) fn lookup(&self, d: u64, name: &[u8]) -> Option<Entry> {
        let (&prefix, digits) = name.split_first()?;
        let number = parse_number(digits)?;
        let i = match prefix {
            b'd' if number < self.subdirs(d) as u64 => number,
            b'f' if number < self.files as u64 => self.subdirs(d) as u64 + number,
            _ => return None,
        };
        self.entry(d, i)
    }

    /// Writes the absolute path of `node` below the mount, e.g. `/d1/d0/f2`.
    pub(crate) fn write_path(&self, node: Node, out: &mut impl fmt::Write) -> fmt::Result {
        let (dir, file) = match node {
            Node::Dir(d) => (d, None),
            Node::File { dir, index } => (dir, Some(index)),
        };
        // Child indices from the root down; depth is bounded by MAX_DEPTH.
        let mut path = [0u64; MAX_DEPTH as usize];
        let mut len = 0;
        let mut d = dir;
        while d != 0 {
            path[len] = self.child_index(d);
            len += 1;
            d = self.parent(d);
        }
        if len == 0 && file.is_none() {
            out.write_char('/')?;
        }
        for k in path[..len].iter().rev() {
            write!(out, "/d{k}")?;
        }
        if let Some(index) = file {
            write!(out, "/f{index}")?;
        }
        Ok(())
    }

    /// The content of a regular file: its own path and a newline.
    pub(crate) fn write_content(&self, node: Node, out: &mut impl fmt::Write) -> fmt::Result {
        self.write_path(node, out)?;
        out.write_char('\n')
    }

    /// Size in bytes of a regular file's content.
    pub(crate) fn content_len(&self, node: Node) -> usize {
        let mut counter = ByteCounter(0);
        // Counting cannot fail.
        let _ = self.write_content(node, &mut counter);
        counter.0
    }
}

/// A decimal number without sign or leading zeros ("0" itself is fine).
fn parse_number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || (digits[0] == b'0' && digits.len() > 1) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + (c - b'0') as u64)
    })
}

struct ByteCounter(usize);

impl fmt::Write for ByteCounter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::string::String;
    use std::vec::Vec;

    fn geometry(depth: u32, fanout: u32, files: u32) -> Geometry {
        Geometry::new(depth, fanout, files).unwrap()
    }

    /// Every node reachable from the root, by walking listings.
    fn walk(g: &Geometry) -> Vec<(String, Node)> {
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), 0u64)];
        while let Some((path, d)) = stack.pop() {
            out.push((
                if path.is_empty() {
                    "/".into()
                } else {
                    path.clone()
                },
                Node::Dir(d),
            ));
            for i in 0..g.entries(d) {
                let e = g.entry(d, i).unwrap();
                let mut buf = [0u8; 24];
                let name = std::str::from_utf8(e.name(g).write(&mut buf))
                    .unwrap()
                    .to_string();
                let child = format!("{path}/{name}");
                match e.node {
                    Node::Dir(c) => stack.push((child, c)),
                    file => out.push((child, file)),
                }
            }
        }
        out
    }

    #[test]
    fn counts_match_the_geometry() {
        let g = geometry(3, 4, 2);
        assert_eq!(g.dirs(), 1 + 4 + 16 + 64);
        assert_eq!(g.file_count(), 85 * 2);
        let nodes = walk(&g);
        assert_eq!(nodes.len() as u64, g.dirs() + g.file_count());
        assert_eq!(geometry(0, 1, 0).dirs(), 1);
        assert_eq!(geometry(5, 1, 1).dirs(), 6);
    }

    #[test]
    fn inode_numbers_are_unique_and_invert() {
        let g = geometry(3, 3, 3);
        let mut seen = HashSet::new();
        for (_, node) in walk(&g) {
            let ino = g.ino(node);
            assert!(seen.insert(ino), "duplicate ino {ino}");
            assert_eq!(g.node(ino), Some(node));
        }
        assert_eq!(g.node(0), None);
        assert_eq!(g.node(g.dirs() + g.file_count() + 1), None);
        assert_eq!(g.ino(Node::Dir(0)), g.root_ino());
    }

    #[test]
    fn paths_lookup_and_content_agree() {
        let g = geometry(2, 3, 2);
        for (path, node) in walk(&g) {
            let mut written = String::new();
            g.write_path(node, &mut written).unwrap();
            assert_eq!(written, path);
            // Resolve the path component by component.
            let mut d = 0;
            let mut found = Node::Dir(0);
            for part in path.split('/').filter(|p| !p.is_empty()) {
                let e = g.lookup(d, part.as_bytes()).unwrap();
                found = e.node;
                if let Node::Dir(c) = e.node {
                    assert_eq!(g.parent(c), d);
                    d = c;
                }
            }
            assert_eq!(found, node);
            if let Node::File { .. } = node {
                let mut content = String::new();
                g.write_content(node, &mut content).unwrap();
                assert_eq!(content, format!("{path}\n"));
                assert_eq!(g.content_len(node), content.len());
            }
        }
    }

    #[test]
    fn leaves_have_files_but_no_subdirectories() {
        let g = geometry(2, 2, 1);
        let Some(Entry {
            node: Node::Dir(d0),
            ..
        }) = g.lookup(0, b"d0")
        else {
            panic!("/d0 is a directory");
        };
        let Some(Entry {
            node: Node::Dir(leaf),
            ..
        }) = g.lookup(d0, b"d0")
        else {
            panic!("/d0/d0 is a directory");
        };
        assert_eq!(g.level(leaf), 2);
        assert_eq!(g.subdirs(leaf), 0);
        assert_eq!(g.lookup(leaf, b"d0"), None);
        assert!(g.lookup(leaf, b"f0").is_some());
    }

    #[test]
    fn bad_names_are_not_found() {
        let g = geometry(2, 10, 10);
        for name in [
            &b""[..],
            b"d",
            b"f",
            b"d10",
            b"f10",
            b"d01",
            b"x1",
            b"d-1",
            b"d1 ",
            b"D1",
            b"d99999999999999999999",
        ] {
            assert_eq!(
                g.lookup(0, name),
                None,
                "{:?}",
                String::from_utf8_lossy(name)
            );
        }
        assert!(g.lookup(0, b"d0").is_some());
        assert!(g.lookup(0, b"d9").is_some());
        assert!(g.lookup(0, b"f9").is_some());
    }

    #[test]
    fn bad_geometries_are_refused_with_a_reason() {
        assert_eq!(
            Geometry::new(MAX_DEPTH + 1, 1, 0),
            Err(GeometryError::Depth)
        );
        assert_eq!(Geometry::new(1, 0, 0), Err(GeometryError::Fanout));
        assert_eq!(
            Geometry::new(1, MAX_FANOUT + 1, 0),
            Err(GeometryError::Fanout)
        );
        assert_eq!(
            Geometry::new(1, 1, MAX_FILES + 1),
            Err(GeometryError::Files)
        );
        assert_eq!(Geometry::new(32, 4096, 0), Err(GeometryError::TooLarge));
        assert_eq!(Geometry::new(6, 16, 4096), Err(GeometryError::TooLarge));
        assert_eq!(
            format!("{}", GeometryError::Fanout),
            format!("fanout must be 1..{MAX_FANOUT}")
        );
    }

    #[test]
    fn names_format_without_allocating() {
        let mut buf = [0u8; 24];
        let name = Name {
            prefix: b'f',
            number: u64::MAX,
        };
        assert_eq!(name.write(&mut buf), format!("f{}", u64::MAX).as_bytes());
        assert_eq!(
            Name {
                prefix: b'd',
                number: 0
            }
            .write(&mut buf),
            b"d0"
        );
    }
}
