// SPDX-License-Identifier: GPL-2.0

//! Writes the fuzzing seed corpus: one input per case of `rust/fmap_cases.rs`.
//!
//! Usage: `cargo run -p famfs-fmap --example fuzz_corpus -- DIR`.

use famfs_fmap::{fmap_cases::Writer, fmap_cases::CASES, join_fuzz_input};
use std::{env, fs, io, path::PathBuf, process::ExitCode};

/// Largest seed written; the oversized-blob case is left out.
const MAX_SEED: usize = 4096;

fn main() -> ExitCode {
    let Some(dir) = env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz_corpus DIR");
        return ExitCode::FAILURE;
    };
    match write(&dir) {
        Ok(n) => {
            println!("wrote {n} seeds to {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fuzz_corpus: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}

/// Writes the seeds into `dir`, returning how many were written.
fn write(dir: &PathBuf) -> io::Result<usize> {
    fs::create_dir_all(dir)?;
    let mut n = 0;
    for (i, case) in CASES.iter().enumerate() {
        if case.buf_len > MAX_SEED {
            continue;
        }
        let mut buf = vec![0u8; case.buf_len];
        let mut w = Writer::new(&mut buf);
        (case.build)(&mut w);
        let Some(len) = w.finish() else { continue };
        let Some(input) = buf.get(..len).and_then(|b| join_fuzz_input(case.devs, b)) else {
            continue;
        };
        fs::write(dir.join(format!("case-{i:02}")), input)?;
        n += 1;
    }
    Ok(n)
}
