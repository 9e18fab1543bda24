//! abi_stable records, in every layout it derives, the package the type
//! was compiled in (`CARGO_PKG_NAME`) and refuses a root module whose
//! types come from another package than the host's. The frozen copy of
//! ABI 1.0's root module in `src/abi_1_0.rs` stands for the root module
//! of `radixgate-plugin` 1.0, so this crate is compiled under that
//! package's name (its version, the workspace's, is the host's too).

fn main() {
    println!("cargo:rustc-env=CARGO_PKG_NAME=radixgate-plugin");
    println!("cargo:rerun-if-changed=build.rs");
}
