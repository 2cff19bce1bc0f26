use clap::Parser;
use unclosed::cli::{Cli, ExitStatus, run};

// The analysis makes and drops many small strings and vectors per syntax
// node, and tree-sitter as many nodes per parse: glibc's allocator took
// about a seventh of the CPU time (perf). mimalloc, for both, saves a
// tenth to a fifth of it; built without transparent huge pages (its
// `no_thp` feature in Cargo.toml), it peaks within a few percent of
// glibc's memory (bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// tree-sitter's allocation functions, on mimalloc. tree-sitter requires
/// that they never return null, as its own default (which aborts) does.
mod tree_sitter_allocator {
    use libmimalloc_sys::{mi_calloc, mi_free, mi_malloc, mi_realloc};
    use std::ffi::c_void;

    fn checked(p: *mut c_void, size: usize) -> *mut c_void {
        if p.is_null() && size > 0 {
            eprintln!("unclosed: out of memory ({size} bytes for the parser)");
            std::process::abort();
        }
        p
    }

    unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
        checked(unsafe { mi_malloc(size) }, size)
    }

    unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
        checked(
            unsafe { mi_calloc(count, size) },
            count.saturating_mul(size),
        )
    }

    unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
        checked(unsafe { mi_realloc(p, size) }, size)
    }

    unsafe extern "C" fn free(p: *mut c_void) {
        unsafe { mi_free(p) }
    }

    /// Installs them; called first thing, before any parser exists.
    pub fn install() {
        // SAFETY: one allocator family, never null, malloc's alignment
        // (mimalloc's guarantee), installed before any tree-sitter object
        // exists and while only this thread runs.
        unsafe {
            tree_sitter::set_allocator(Some(tree_sitter::Allocator {
                malloc,
                calloc,
                realloc,
                free,
            }));
        }
    }
}

fn main() {
    tree_sitter_allocator::install();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` are not errors.
            let status = if e.use_stderr() {
                ExitStatus::Error
            } else {
                ExitStatus::Clean
            };
            let _ = e.print();
            std::process::exit(status as i32);
        }
    };
    std::process::exit(run(cli) as i32);
}
