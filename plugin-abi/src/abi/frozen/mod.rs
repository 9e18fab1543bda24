//! The ABI as older minor versions declared it, frozen: the layouts the
//! host checks a library of an older minor against.
//!
//! abi_stable accepts a library whose types have *more* than the type the
//! host checks it against (fields appended to a prefix type, variants added
//! to a nonexhaustive enum), never fewer. Checked against today's types, a
//! plugin built against an older minor would be refused as having too few.
//! The host checks such a library against the frozen types of its minor
//! instead, then uses it through today's types: the fields it lacks read
//! as absent, and it never returns the variants it lacks.
//!
//! Do not edit these files: they are what plugins built against those
//! minors export (same type names, fields, variants, order). A type they
//! name that a later minor changes is frozen beside them and named
//! instead (1.3 extended the request context: 1.0-1.2's is `ctx_1_2`;
//! 1.4 extended the host services: 1.2-1.3's is `host_1_3`).

pub mod ctx_1_2;
pub mod host_1_1;
pub mod host_1_3;
pub mod phases_1_1;
pub mod phases_1_2;
pub mod root_1_0;
pub mod root_1_1;
pub mod root_1_2;
pub mod root_1_3;
