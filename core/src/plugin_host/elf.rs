//! A look at a library file's ELF headers before the dynamic loader maps
//! it: the loader maps segments without checking that the file holds them,
//! so a file cut short (a copy still in progress) would fault (SIGBUS) the
//! moment the loader reads past its end. Such a file is refused instead.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// ELF64 file header size.
const HEADER: usize = 64;
/// ELF64 program header size.
const PHDR: usize = 56;
/// Most program headers a library may have (real ones have about ten).
const MAX_PHDRS: u64 = 256;

/// Checks that `path` (`size` bytes) is a 64-bit shared library of this
/// machine's byte order whose program headers, segments and section
/// headers all lie within the file. The error says what is wrong.
pub fn check_library(path: &Path, size: u64) -> Result<(), String> {
    let mut file = File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut header = [0u8; HEADER];
    if size < HEADER as u64 || file.read_exact(&mut header).is_err() {
        return Err(format!("not an ELF library ({size} bytes)"));
    }
    if header[..4] != *b"\x7fELF" {
        return Err("not an ELF library".into());
    }
    let native_data = if cfg!(target_endian = "little") { 1 } else { 2 };
    if header[4] != 2 || header[5] != native_data {
        return Err("not a 64-bit ELF library of this machine's byte order".into());
    }
    let u16_at = |at: usize| u16::from_ne_bytes([header[at], header[at + 1]]);
    let u64_at = |bytes: &[u8], at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[at..at + 8]);
        u64::from_ne_bytes(b)
    };
    const ET_DYN: u16 = 3;
    if u16_at(16) != ET_DYN {
        return Err("not a shared library (ELF type is not ET_DYN)".into());
    }
    let (phoff, shoff) = (u64_at(&header, 32), u64_at(&header, 40));
    let (phentsize, phnum) = (u16_at(54), u64::from(u16_at(56)));
    let (shentsize, shnum) = (u64::from(u16_at(58)), u64::from(u16_at(60)));
    if usize::from(phentsize) != PHDR || phnum == 0 || phnum > MAX_PHDRS {
        return Err("its ELF program headers are malformed".into());
    }
    let cut = |needed: u64| {
        format!(
            "the file is cut short ({size} bytes; its ELF headers need {needed}): \
             a copy still in progress?"
        )
    };
    let ph_end = phoff.saturating_add(phnum * PHDR as u64);
    if ph_end > size {
        return Err(cut(ph_end));
    }
    let sh_end = shoff.saturating_add(shnum.saturating_mul(shentsize));
    if shoff != 0 && sh_end > size {
        return Err(cut(sh_end));
    }
    let mut phdrs = vec![0u8; phnum as usize * PHDR];
    file.seek(SeekFrom::Start(phoff))
        .and_then(|_| file.read_exact(&mut phdrs))
        .map_err(|e| format!("cannot read its ELF program headers: {e}"))?;
    for ph in phdrs.chunks_exact(PHDR) {
        let end = u64_at(ph, 8).saturating_add(u64_at(ph, 32));
        if end > size {
            return Err(cut(end));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_library;

    #[test]
    fn a_library_cut_short_is_refused() {
        // This test binary's own dependencies include shared libraries;
        // the C library is one every Linux process maps.
        let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
        let libc = maps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .find(|p| p.contains("libc.so") || p.contains("libc-"))
            .expect("libc is mapped");
        let bytes = std::fs::read(libc).expect("read libc");
        let dir = std::env::temp_dir().join(format!("radixgate-elf-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let whole = dir.join("whole.so");
        std::fs::write(&whole, &bytes).expect("write");
        assert_eq!(check_library(&whole, bytes.len() as u64), Ok(()));
        let half = dir.join("half.so");
        let cut = &bytes[..bytes.len() / 2];
        std::fs::write(&half, cut).expect("write");
        let err = check_library(&half, cut.len() as u64).expect_err("cut short");
        assert!(err.starts_with("the file is cut short ("), "{err}");
        let junk = dir.join("junk.so");
        std::fs::write(&junk, [b'x'; 100]).expect("write");
        let err = check_library(&junk, 100).expect_err("junk");
        assert_eq!(err, "not an ELF library");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
