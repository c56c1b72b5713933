//! Build script: fingerprints the engine sources, so a gate decided on one build can tell it
//! is stale on another. The fingerprint covers every file the engines' behaviour comes from —
//! `src/engines`, `src/domain` and `src/sync` — hashed in path order with FNV-1a (stable across
//! Rust versions, unlike std's hasher; a fingerprint, not a security boundary). The library
//! reads it as `LOCKCHAN_ENGINE_HASH`.

use std::fs;
use std::path::{Path, PathBuf};

const ENGINE_DIRS: [&str; 3] = ["src/engines", "src/domain", "src/sync"];

fn main() {
    let mut files = Vec::new();
    for dir in ENGINE_DIRS {
        println!("cargo:rerun-if-changed={dir}");
        collect(Path::new(dir), &mut files);
    }
    files.sort();
    let mut hash = Fnv::new();
    for file in &files {
        // The path with `/` separators, then the bytes: renaming a file changes the print too.
        let name = file.to_string_lossy().replace('\\', "/");
        hash.write(name.as_bytes());
        hash.write(&[0]);
        match fs::read(file) {
            Ok(bytes) => hash.write(&bytes),
            Err(err) => panic!("cannot read {}: {err}", file.display()),
        }
        hash.write(&[0]);
    }
    println!("cargo:rustc-env=LOCKCHAN_ENGINE_HASH={:016x}", hash.0);
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => panic!("cannot list {}: {err}", dir.display()),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}
