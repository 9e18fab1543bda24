//! A metric series resolved once, as a plugin keeps it.

use crate::abi::SeriesHandle;

/// One series of a registered metric (its label values fixed), from
/// [`Host::series`](super::Host::series): an update is a few atomic adds
/// in the host, without the label lookup of
/// [`Host::counter_add`](super::Host::counter_add). May be kept across
/// requests and threads.
pub struct Series {
    raw: SeriesHandle,
}

impl Series {
    pub(crate) fn new(raw: SeriesHandle) -> Series {
        Series { raw }
    }

    /// Adds `value` to a counter's series.
    pub fn add(&self, value: u64) {
        self.raw.record(value as f64)
    }

    /// Records `value` in a histogram's series.
    pub fn observe(&self, value: f64) {
        self.raw.record(value)
    }
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Series")
    }
}
