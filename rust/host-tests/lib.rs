// SPDX-License-Identifier: GPL-2.0

//! The module's pure-Rust parts, compiled for the host so that `cargo test`
//! can run their unit tests. They use `core` only; the kernel crate includes
//! the same files.

// The kernel crate is what calls these items; here they are only tested.
#![allow(dead_code)]

#[path = "../geometry.rs"]
mod geometry;
