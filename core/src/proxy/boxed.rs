//! Large futures put on the heap without a copy of their whole size.
//!
//! `Box::pin(f())` makes the future on the stack and copies all of it into
//! the box: the type's full size (a request's future is several KB), though
//! only its arguments are set before it first runs. Allocating first and
//! writing the future into the allocation lets the compiler build it in
//! place, writing only those arguments.

use std::future::Future;
use std::pin::Pin;

/// The future `make` returns, pinned on the heap, built in place.
#[inline(always)]
pub fn boxed<F: Future>(make: impl FnOnce() -> F) -> Pin<Box<F>> {
    let slot = Box::<F>::new_uninit();
    Box::into_pin(Box::write(slot, make()))
}
