//! The C ABI (see `include/radix_router.h`).
