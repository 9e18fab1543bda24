//! The gateway binary's global allocator: mimalloc, entered through its
//! plain `malloc` family when the layout needs no more than the 8-byte
//! alignment every mimalloc block has, and through its aligned entry
//! otherwise. (The mimalloc crate's `MiMalloc` always takes the aligned
//! entry, whose fast path mimalloc 3 keeps to small blocks: larger ones,
//! such as a request's future or a header map's table, go the generic
//! aligned way, about a hundred instructions more each.)

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use mimalloc::MiMalloc;

/// Alignment of every block mimalloc hands out (its word size).
const BLOCK_ALIGN: usize = 8;

extern "C" {
    /// mimalloc's `malloc`: `size` bytes aligned to its word, or null.
    fn mi_malloc(size: usize) -> *mut c_void;
    /// mimalloc's `calloc` for one object: `size` zeroed bytes, or null.
    fn mi_zalloc(size: usize) -> *mut c_void;
    /// mimalloc's `realloc`: `p` (a mimalloc block) moved to `newsize`
    /// bytes aligned to its word, or null with `p` left as it was.
    fn mi_realloc(p: *mut c_void, newsize: usize) -> *mut c_void;
}

/// mimalloc for the gateway binary (`main.rs`).
pub struct GatewayAllocator;

// SAFETY: every block comes from mimalloc (plain or aligned entry) and
// goes back through `MiMalloc::dealloc` (`mi_free`, which frees blocks of
// either entry); a plain-entry block is used only for layouts whose
// alignment is at most the 8 bytes every mimalloc block has.
unsafe impl GlobalAlloc for GatewayAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            // SAFETY: mimalloc's malloc takes any size and returns a
            // word-aligned block or null, as `alloc` must.
            unsafe { mi_malloc(layout.size()).cast() }
        } else {
            // SAFETY: the caller's contract for `layout`, passed on.
            unsafe { MiMalloc.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            // SAFETY: as `alloc`, the block zeroed.
            unsafe { mi_zalloc(layout.size()).cast() }
        } else {
            // SAFETY: the caller's contract for `layout`, passed on.
            unsafe { MiMalloc.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a mimalloc block of this allocator (the
        // caller's contract); `mi_free` frees plain and aligned ones.
        unsafe { MiMalloc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            // SAFETY: `ptr` is a mimalloc block (the caller's contract);
            // the new block keeps the word alignment `layout` needs.
            unsafe { mi_realloc(ptr.cast(), new_size).cast() }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { MiMalloc.realloc(ptr, layout, new_size) }
        }
    }
}

/// Turns transparent huge pages off for this process, unless
/// `MIMALLOC_ALLOW_THP=1` (mimalloc's own switch) asks for them. Called
/// first thing in `main`, before logging is set up (where the kernel
/// refuses, the process keeps the system's setting).
///
/// mimalloc asks for huge pages on every arena it maps (`MADV_HUGEPAGE`).
/// Where the kernel defragments for such regions on fault (the common
/// `defrag=madvise`), each 2 MiB fault may compact memory first: loading
/// 100k routes took 1.1 s of system time that way, against 0.2 s with
/// 4 KiB pages (start 1.4-1.8 s against 1.1-1.2 s), and RSS was higher.
pub fn no_transparent_huge_pages() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none_or(|v| v != "1") {
        disable_thp();
    }
}

#[cfg(target_os = "linux")]
fn disable_thp() {
    // SAFETY: prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) sets one flag of the
    // calling process (checked by the kernel at each page fault) and
    // reads or writes no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_thp() {}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::GatewayAllocator;

    #[test]
    fn blocks_have_their_layouts_alignment_and_keep_their_bytes() {
        let a = GatewayAllocator;
        for (size, align) in [
            (1, 1),
            (24, 8),
            (3000, 8),
            (7000, 16),
            (100, 128),
            (1 << 20, 64),
        ] {
            let layout = Layout::from_size_align(size, align).expect("a layout");
            // SAFETY: a non-zero size; each block is freed with its layout.
            unsafe {
                let p = a.alloc_zeroed(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0, "{size} {align}");
                assert!(std::slice::from_raw_parts(p, size).iter().all(|b| *b == 0));
                p.write_bytes(7, size);
                let grown = a.realloc(p, layout, size * 2);
                assert_eq!(grown as usize % align, 0, "{size} {align} grown");
                assert!(std::slice::from_raw_parts(grown, size)
                    .iter()
                    .all(|b| *b == 7));
                a.dealloc(
                    grown,
                    Layout::from_size_align(size * 2, align).expect("grown"),
                );
            }
        }
    }
}
